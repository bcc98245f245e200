// Package workflows reads GitHub Actions workflow files into the few
// things pitstop needs to know about them: the jobs in file order, each
// job's steps numbered from 1 the way a person counts them, their ids,
// names and `uses:`/`run:` values, and the line:column where each starts.
//
// It also reads the settings pitstop acts on, each with its position: the
// workflow's name and triggers ("on:"), "permissions:" and "defaults:" of
// the workflow and of each job, and each job's "if:", literal "runs-on:"
// labels, "container:" and "services:". No other package parses a
// workflow; they ask this one.
//
// It also reports what makes a job special for a pause: a matrix, a
// `timeout-minutes`, a `concurrency` group that cancels in-progress runs,
// a call to a reusable workflow (no steps at all), and steps that are
// shared with other jobs through YAML anchors and aliases.
//
// Every problem with a file is an *Error that prints as
// "FILE:LINE:COL: message", quoting names with %q and listing the valid
// choices, so a person can jump straight to the spot.
//
// For a caller that edits the text in place (package injector) it also
// says how a setting is written where it applies (Form: a block or flow
// mapping, a scalar, or NotHere when it comes through an alias or a merge
// key) and which bytes a one-line value takes (Span), and StringValue says
// what a scalar the caller means to write will read back as.
//
// What it does not do: change a workflow (that is package injector), judge
// whether a workflow would run (that is actionlint's job), or hand out
// yaml.v3 nodes; positions travel as Pos values instead, and Compare and
// CompareExcept answer the questions that need the trees ("is this the
// same document, apart from one added step, or apart from this one
// setting?").
//
// Reading is bounded: ReadFile and ReadAll refuse directories and anything
// over MaxSize, and Parse refuses binary data and text that is not UTF-8,
// so a wrong path gives a clear message instead of a YAML error from the
// middle of a binary.
package workflows
