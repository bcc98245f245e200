package injector

import (
	"strings"
	"testing"
)

func TestOnPush(t *testing.T) {
	const tail = "jobs:\n  b:\n    runs-on: x\n    steps:\n      - run: echo\n"
	const want = "on:\n  push:\n    branches: [\"pitstop/b-1\"]\n"
	for _, c := range []struct{ name, in, want string }{
		{"scalar", "name: ci\non: pull_request\n" + tail, "name: ci\n" + want + tail},
		{"block with comments", "name: ci\non:\n  # why\n  push:\n    branches: [main]\n  workflow_dispatch:\n    inputs:\n      x: {type: string}\n\n# about jobs\n" + tail,
			"name: ci\n" + want + "\n# about jobs\n" + tail},
		{"flow list, last key", tail + "on: [push, pull_request]", tail + strings.TrimSuffix(want, "\n")},
		{"crlf", strings.ReplaceAll("on: push\n"+tail, "\n", "\r\n"), strings.ReplaceAll(want+tail, "\n", "\r\n")},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := OnPush("ci.yml", []byte(c.in), "pitstop/b-1")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
	// An anchor in "on:" that is used elsewhere would go with it.
	if _, err := OnPush("ci.yml", []byte("on: {push: {branches: &b [main]}}\nx-branches: *b\n"+tail), "x"); err == nil || !strings.Contains(err.Error(), "broke the file") {
		t.Errorf("an anchored on: gave %v", err)
	}
	if _, err := OnPush("ci.yml", []byte(tail), "x"); err == nil || !strings.Contains(err.Error(), `no "on:"`) {
		t.Errorf("a workflow without on: gave %v", err)
	}
}

func TestGrantWrite(t *testing.T) {
	const job = "jobs:\n  b:\n    runs-on: x\n%s    steps:\n      - run: echo\n"
	jobWith := func(perms string) string { return "on: push\n" + strings.Replace(job, "%s", perms, 1) }
	for _, c := range []struct {
		name, in, want string
		granted        bool
		note           string
	}{
		{"job mapping", jobWith("    permissions:\n      contents: read\n"), jobWith("    permissions:\n      checks: write\n      contents: read\n"), true, `job "b"`},
		{"raised", jobWith("    permissions:\n      checks: 'read'\n"), jobWith("    permissions:\n      checks: write\n"), true, "granted"},
		{"already", jobWith("    permissions:\n      checks: write\n"), jobWith("    permissions:\n      checks: write\n"), true, "already"},
		{"workflow level", "permissions:\n  contents: read\n" + jobWith(""), "permissions:\n  checks: write\n  contents: read\n" + jobWith(""), true, "the workflow"},
		{"job beats workflow", "permissions: read-all\n" + jobWith("    permissions:\n      pull-requests: read\n"),
			"permissions: read-all\n" + jobWith("    permissions:\n      checks: write\n      pull-requests: read\n"), true, `job "b"`},
		{"write-all", jobWith("    permissions: write-all\n"), jobWith("    permissions: write-all\n"), true, "write-all"},
		{"read-all", jobWith("    permissions: read-all\n"), jobWith("    permissions: read-all\n"), false, "does not rewrite"},
		{"flow", jobWith("    permissions: {contents: read}\n"), jobWith("    permissions: {contents: read}\n"), false, "does not rewrite"},
		{"none", jobWith(""), jobWith(""), false, "default"},
		// Permissions shared through an alias or a merge key are not the
		// job's alone: granting there would grant elsewhere too.
		{"alias", "permissions: &p\n  contents: read\n" + jobWith("    permissions: *p\n"),
			"permissions: &p\n  contents: read\n" + jobWith("    permissions: *p\n"), false, "does not rewrite"},
		{"merged", "x-base: &base\n  permissions:\n    contents: read\non: push\njobs:\n  b:\n    <<: *base\n    runs-on: x\n    steps: [{run: echo}]\n",
			"x-base: &base\n  permissions:\n    contents: read\non: push\njobs:\n  b:\n    <<: *base\n    runs-on: x\n    steps: [{run: echo}]\n", false, "does not rewrite"},
		{"quoted", jobWith("    permissions:\n      contents: read\n      checks: \"none\" # for now\n"), jobWith("    permissions:\n      contents: read\n      checks: write # for now\n"), true, "granted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := GrantWrite("ci.yml", []byte(c.in), "b", "checks")
			if err != nil {
				t.Fatal(err)
			}
			if string(g.Out) != c.want || g.Granted != c.granted || !strings.Contains(g.Note, c.note) {
				t.Errorf("got granted=%v note=%q:\n%s\nwant granted=%v note~%q:\n%s", g.Granted, g.Note, g.Out, c.granted, c.note, c.want)
			}
		})
	}
}
