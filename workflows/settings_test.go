package workflows

import (
	"fmt"
	"slices"
	"testing"
)

const settingsWorkflow = `name: ci
on:
  push:
    branches: [main]
  workflow_dispatch:
permissions:
  contents: read
  checks: write
defaults:
  run:
    shell: bash
    working-directory: src
jobs:
  build:
    if: github.event_name == 'push'
    runs-on: [self-hosted, linux]
    permissions: write-all
    defaults: {run: {shell: sh}}
    container: node:20
    services:
      db: {image: postgres, options: --health-cmd pg_isready}
      cache:
        image: redis
    steps: [{run: make}]
  matrix:
    runs-on: ${{ matrix.os }}
    container:
      image: debian
      options: --cpus 1
    steps: [{run: x}]
  group:
    runs-on:
      group: big
      labels: [linux-xl, "${{ inputs.extra }}"]
    steps: [{run: x}]
`

func TestSettings(t *testing.T) {
	w, err := Parse("ci.yml", []byte(settingsWorkflow))
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "ci" {
		t.Errorf("Name = %q", w.Name)
	}
	var on []string
	for _, e := range w.On {
		on = append(on, fmt.Sprintf("%s@%s%q", e.Name, e.Pos, e.Branches))
	}
	if got := fmt.Sprint(on); got != `[push@3:3["main"] workflow_dispatch@5:3[]]` {
		t.Errorf("On = %s", got)
	}
	if w.On[1].Branches != nil {
		t.Errorf("workflow_dispatch has branches %q; want none", w.On[1].Branches)
	}
	var keys []string
	for _, k := range w.Keys {
		keys = append(keys, k.Name+"@"+k.Pos.String())
	}
	if got := fmt.Sprint(keys); got != "[name@1:1 on@2:1 permissions@6:1 defaults@9:1 jobs@13:1]" {
		t.Errorf("Keys = %s", got)
	}
	if !w.HasEvent("push") || w.HasEvent("pull_request") {
		t.Error("HasEvent: want push and not pull_request")
	}
	p := w.Permissions
	if p == nil || p.Pos != (Pos{7, 3}) || p.All != "" || p.Level("checks") != "write" || p.Level("contents") != "read" || p.Level("issues") != "" {
		t.Errorf("workflow permissions = %+v", p)
	}
	if d := w.Defaults; d == nil || d.Pos != (Pos{9, 1}) || d.Shell != "bash" || d.WorkingDirectory != "src" {
		t.Errorf("workflow defaults = %+v", d)
	}

	b, m, g := w.Jobs[0], w.Jobs[1], w.Jobs[2]
	if b.If != "github.event_name == 'push'" || m.If != "" {
		t.Errorf("If = %q, %q", b.If, m.If)
	}
	for _, tc := range []struct {
		j    *Job
		want []string
	}{{b, []string{"self-hosted", "linux"}}, {m, nil}, {g, []string{"linux-xl"}}} {
		if !slices.Equal(tc.j.RunsOn, tc.want) {
			t.Errorf("%s: RunsOn = %q, want %q", tc.j.ID, tc.j.RunsOn, tc.want)
		}
	}
	if p := b.Permissions; p == nil || p.All != "write-all" || p.Pos != (Pos{17, 18}) {
		t.Errorf("job permissions = %+v", p)
	}
	if m.Permissions != nil || m.Defaults != nil {
		t.Error("a job without its own permissions or defaults has none: it inherits the workflow's")
	}
	if d := b.Defaults; d == nil || d.Shell != "sh" || d.WorkingDirectory != "" {
		t.Errorf("job defaults = %+v", d)
	}
	if c := b.Container; c == nil || c.Image != "node:20" || c.Options != "" || c.Pos != (Pos{19, 16}) {
		t.Errorf("build container = %+v", c)
	}
	if c := m.Container; c == nil || c.Image != "debian" || c.Options != "--cpus 1" || c.Pos != (Pos{28, 7}) {
		t.Errorf("matrix container = %+v", c)
	}
	if g.Container != nil || len(g.Services) != 0 {
		t.Errorf("group: container %+v, services %+v; want none", g.Container, g.Services)
	}
	var services []string
	for _, c := range b.Services {
		services = append(services, fmt.Sprintf("%s@%s %s %q", c.ID, c.Pos, c.Image, c.Options))
	}
	if got := fmt.Sprint(services); len(b.Services) != 2 || got != `[db@21:11 postgres "--health-cmd pg_isready" cache@23:9 redis ""]` {
		t.Errorf("services = %s", got)
	}
}

// TestSettingsInPlace reads what an edit of the text needs: how each
// setting is written where it applies, and which bytes its values take.
func TestSettingsInPlace(t *testing.T) {
	src := []byte(settingsWorkflow)
	w, err := Parse("ci.yml", src)
	if err != nil {
		t.Fatal(err)
	}
	text := func(s Span) string {
		if s.IsZero() {
			return "<none>"
		}
		return string(src[s.Start:s.End])
	}
	if p := w.Permissions; p.Form != BlockMapping || text(p.Scopes[0].Span) != "read" || text(p.Scopes[1].Span) != "write" {
		t.Errorf("workflow permissions: form %v, spans %q %q", p.Form, text(p.Scopes[0].Span), text(p.Scopes[1].Span))
	}
	b, m := w.Jobs[0], w.Jobs[1]
	if p := b.Permissions; p.Form != Scalar {
		t.Errorf("job permissions: form %v, want Scalar", p.Form)
	}
	if c := b.Container; c.Form != Scalar || text(c.Span) != "node:20" {
		t.Errorf("build container: form %v, span %q", c.Form, text(c.Span))
	}
	if c := m.Container; c.Form != BlockMapping || c.FirstKey != (Pos{28, 7}) || c.OptionsPos != (Pos{29, 7}) || text(c.OptionsSpan) != "--cpus 1" {
		t.Errorf("matrix container = %+v, options %q", c, text(c.OptionsSpan))
	}
	db, cache := b.Services[0], b.Services[1]
	if db.Form != FlowMapping || text(db.OptionsSpan) != "--health-cmd pg_isready" {
		t.Errorf("db: form %v, options %q", db.Form, text(db.OptionsSpan))
	}
	if cache.Form != BlockMapping || !cache.OptionsPos.IsZero() || cache.FirstKey != (Pos{23, 9}) {
		t.Errorf("cache = %+v", cache)
	}

	// What is written elsewhere is not here: an alias, a merge key, an
	// aliased job.
	shared, err := Parse("ci.yml", []byte(`on: push
permissions: &p
  checks: 'read'
  contents: "write"
jobs:
  a: &a
    permissions: *p
    container: &c {image: x}
    steps: [{run: x}]
  b: *a
  c:
    <<: *a
    steps: [{run: x}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if p := shared.Permissions; p.Form != BlockMapping || p.Scopes[0].Span.IsZero() || p.Scopes[1].Span.End-p.Scopes[1].Span.Start != len(`"write"`) {
		t.Errorf("anchored workflow permissions = %+v", p)
	}
	for _, j := range shared.Jobs {
		wantC := NotHere
		if j.ID == "a" {
			wantC = FlowMapping
		}
		if j.Permissions.Form != NotHere || j.Container.Form != wantC {
			t.Errorf("job %s: permissions form %v, container form %v (want %v)", j.ID, j.Permissions.Form, j.Container.Form, wantC)
		}
		if j.Permissions.Level("checks") != "read" {
			t.Errorf("job %s: checks %q, want read through the alias", j.ID, j.Permissions.Level("checks"))
		}
	}
}

// TestEventForms reads "on:" in each of the three ways it can be written.
func TestEventForms(t *testing.T) {
	for on, want := range map[string]string{
		"push":                    "[push]",
		"[push, pull_request]":    "[push pull_request]",
		"{workflow_dispatch: {}}": "[workflow_dispatch]",
		"[]":                      "[]",
	} {
		w, err := Parse("ci.yml", []byte("on: "+on+"\njobs:\n  a:\n    runs-on: x\n    steps: [{run: x}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range w.On {
			names = append(names, e.Name)
		}
		if got := fmt.Sprint(names); got != want {
			t.Errorf("on: %s: got %s, want %s", on, got, want)
		}
	}
}
