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
	if got := fmt.Sprint(w.On); got != "[{push 3:3} {workflow_dispatch 5:3}]" {
		t.Errorf("On = %s", got)
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
	if got := fmt.Sprint(*b.Services[0], *b.Services[1]); len(b.Services) != 2 || got != "{db 21:11 postgres --health-cmd pg_isready} {cache 23:9 redis }" {
		t.Errorf("services = %s", got)
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
