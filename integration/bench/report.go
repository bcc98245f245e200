//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// row is one line of the table: a measurement of pitstop, the same of
// sshd where there is one, and the target it is judged against.
type row struct {
	Name    string   `json:"name"`
	Unit    string   `json:"unit"`
	Pitstop float64  `json:"pitstop"`
	SSHD    *float64 `json:"sshd,omitempty"`
	// Ratio is pitstop / sshd; for alternating runs, the median of the
	// ratios of each pair of runs, which a change in the machine's load
	// during the run moves less than a ratio of medians.
	Ratio  *float64 `json:"ratio,omitempty"`
	Target string   `json:"target,omitempty"`
	Pass   *bool    `json:"pass,omitempty"`
	Note   string   `json:"note,omitempty"`
}

// report is what the bench prints: the table's rows, with what was
// measured on what.
type report struct {
	Machine  machine        `json:"machine"`
	Settings map[string]any `json:"settings"`
	Rows     []row          `json:"rows"`
	// Runs holds the raw numbers behind some rows, by row name.
	Runs map[string]any `json:"runs,omitempty"`
}

func (r *report) add(x row) { r.Rows = append(r.Rows, x) }

// target is how a row is judged: against sshd (a ratio) or an absolute
// bound, at least or at most.
type target struct {
	atLeast bool
	ratio   bool    // compare the ratio to sshd rather than the value
	bound   float64 // the value or ratio
}

func (t target) String() string {
	op := "≤"
	if t.atLeast {
		op = "≥"
	}
	if t.ratio {
		return fmt.Sprintf("%s %.2g× sshd", op, t.bound)
	}
	return fmt.Sprintf("%s %s", op, strconv.FormatFloat(t.bound, 'f', -1, 64))
}

// judge sets x's Target and Pass.
func (t target) judge(x *row) {
	v := x.Pitstop
	if t.ratio {
		if x.Ratio == nil {
			return
		}
		v = *x.Ratio
	}
	pass := v <= t.bound
	if t.atLeast {
		pass = v >= t.bound
	}
	x.Target = t.String()
	if !t.ratio {
		x.Target += " " + x.Unit
	}
	x.Pass = &pass
}

// compared is a row of pitstop against sshd, with ratio = pitstop/sshd
// unless given.
func compared(name, unit string, pitstop, sshd float64, ratio *float64) row {
	if ratio == nil && sshd != 0 {
		r := pitstop / sshd
		ratio = &r
	}
	return row{Name: name, Unit: unit, Pitstop: pitstop, SSHD: &sshd, Ratio: ratio}
}

// misses counts the rows that missed their target.
func (r *report) misses() int {
	n := 0
	for _, x := range r.Rows {
		if x.Pass != nil && !*x.Pass {
			n++
		}
	}
	return n
}

// writeTable prints the report as a table with the machine above it.
func (r *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tunit\tpitstop\tsshd\tpitstop/sshd\ttarget\tresult")
	for _, x := range r.Rows {
		sshd, ratio, result := "", "", ""
		if x.SSHD != nil {
			sshd = num(*x.SSHD)
		}
		if x.Ratio != nil {
			ratio = fmt.Sprintf("%.2f", *x.Ratio)
		}
		if x.Pass != nil {
			result = "PASS"
			if !*x.Pass {
				result = "MISS"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Name, x.Unit, num(x.Pitstop), sshd, ratio, x.Target, result)
	}
	tw.Flush()
	// Empty last columns leave padding behind.
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	for _, x := range r.Rows {
		if x.Note != "" {
			fmt.Fprintf(w, "note: %s: %s\n", x.Name, x.Note)
		}
	}
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// num prints a measurement with about three significant digits.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100 || a == math.Trunc(a):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// median of xs (which it sorts); NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// percentile is the nearest-rank p-th percentile of xs (which it sorts):
// the smallest value at least p% of the values are at or below.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	rank := int(math.Ceil(p / 100 * float64(len(xs))))
	return xs[min(max(rank, 1), len(xs))-1]
}

// parseSize reads a byte count as head -c takes it: a number with an
// optional K, M or G suffix (powers of 1024; "KiB" etc. also accepted).
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "B"), "i")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: want a positive number with an optional K, M or G suffix", s)
	}
	return n * mult, nil
}

// formatSize prints n bytes the way parseSize reads them, e.g. "1GiB".
func formatSize(n int64) string {
	for _, u := range []struct {
		unit string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.unit
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// parseStatusKB returns a "Name:  1234 kB" field of /proc/PID/status.
func parseStatusKB(status, field string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parse %s line %q", field, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s line %q: %w", field, line, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("no %s line in process status", field)
}
