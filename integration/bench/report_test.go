//go:build unix

package main

import (
	"math"
	"strings"
	"testing"
)

func TestMedianAndPercentile(t *testing.T) {
	for _, c := range []struct {
		name             string
		xs               []float64
		median, p50, p99 float64
	}{
		{name: "odd", xs: []float64{5, 1, 3}, median: 3, p50: 3, p99: 5},
		{name: "even", xs: []float64{4, 1, 3, 2}, median: 2.5, p50: 2, p99: 4},
		{name: "one", xs: []float64{7}, median: 7, p50: 7, p99: 7},
	} {
		if got := median(append([]float64(nil), c.xs...)); got != c.median {
			t.Errorf("%s: median = %v, want %v", c.name, got, c.median)
		}
		if got := percentile(append([]float64(nil), c.xs...), 50); got != c.p50 {
			t.Errorf("%s: p50 = %v, want %v", c.name, got, c.p50)
		}
		if got := percentile(append([]float64(nil), c.xs...), 99); got != c.p99 {
			t.Errorf("%s: p99 = %v, want %v", c.name, got, c.p99)
		}
	}
	// Nearest rank: of 100 values 1..100, p99 is 99, not an interpolation.
	var hundred []float64
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, float64(i))
	}
	if got := percentile(hundred, 99); got != 99 {
		t.Errorf("p99 of 1..100 = %v, want 99", got)
	}
	if !math.IsNaN(median(nil)) || !math.IsNaN(percentile(nil, 50)) {
		t.Error("median or percentile of nothing is not NaN")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1G": 1 << 30, "256M": 256 << 20, "64K": 64 << 10, "1GiB": 1 << 30, "512MiB": 512 << 20, "1000": 1000, "16k": 16 << 10,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if in == "1G" && formatSize(got) != "1GiB" {
			t.Errorf("formatSize(%d) = %q, want 1GiB", got, formatSize(got))
		}
	}
	for _, in := range []string{"", "G", "-1M", "0", "1T", "1.5G", "99999999999G"} {
		if n, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, n)
		}
	}
	if got := formatSize(1000); got != "1000B" {
		t.Errorf("formatSize(1000) = %q, want 1000B", got)
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tpitstop\nVmPeak:\t 1800000 kB\nVmRSS:\t   12345 kB\nThreads:\t8\n"
	if got, err := parseStatusKB(status, "VmRSS"); err != nil || got != 12345 {
		t.Errorf("VmRSS = %d, %v; want 12345", got, err)
	}
	if _, err := parseStatusKB(status, "Threads"); err == nil {
		t.Error("a field without kB parsed")
	}
	if _, err := parseStatusKB(status, "VmSwap"); err == nil {
		t.Error("a missing field parsed")
	}
	rollup := "5581c0000000-7ffd5b1f1000 ---p 00000000 00:00 0                          [rollup]\nRss:               13000 kB\nPss:                9876 kB\n"
	if got, err := parseStatusKB(rollup, "Pss"); err != nil || got != 9876 {
		t.Errorf("Pss = %d, %v; want 9876", got, err)
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis, as comm may have.
	stat := "4242 (pit stop) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 3 1 20 0 8 0 100 1800000000 3000 18446744073709551615"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3.25 {
		t.Errorf("parseStatCPU = %v, %v; want 3.25 (250+75 ticks)", got, err)
	}
	if _, err := parseStatCPU("4242 (short) S 1"); err == nil {
		t.Error("a short stat line parsed")
	}
}

func TestJudge(t *testing.T) {
	ratio := 0.93
	x := row{Name: "exec", Unit: "MB/s", Pitstop: 930, SSHD: new(float64), Ratio: &ratio}
	target{atLeast: true, ratio: true, bound: 0.95}.judge(&x)
	if x.Pass == nil || *x.Pass || x.Target != "≥ 0.95× sshd" {
		t.Errorf("0.93 against ≥ 0.95× sshd: pass %v, target %q", x.Pass, x.Target)
	}
	y := row{Name: "ready", Unit: "ms", Pitstop: 100}
	target{bound: 100}.judge(&y)
	if y.Pass == nil || !*y.Pass || y.Target != "≤ 100 ms" {
		t.Errorf("100 against ≤ 100 ms: pass %v, target %q", y.Pass, y.Target)
	}
	// A ratio target without a ratio is not judged rather than passed.
	z := row{Name: "x", Pitstop: 1}
	target{ratio: true, bound: 1.1}.judge(&z)
	if z.Pass != nil {
		t.Errorf("judged a ratio target without a ratio: %v", *z.Pass)
	}
}

func TestTable(t *testing.T) {
	pass, miss := true, false
	ratio := 0.61
	r := &report{Rows: []row{
		{Name: "exec 1GiB chacha", Unit: "MB/s", Pitstop: 342.4, SSHD: ptr(564.0), Ratio: &ratio, Target: "≥ 0.9× sshd", Pass: &miss, Note: "busy"},
		{Name: "ready", Unit: "ms", Pitstop: 5.82, Target: "≤ 100 ms", Pass: &pass},
	}}
	var b strings.Builder
	r.writeTable(&b)
	out := b.String()
	for _, want := range []string{"342", "564", "0.61", "MISS", "5.82", "PASS", "note: exec 1GiB chacha: busy"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("table line ends in spaces: %q", line)
		}
	}
	if r.misses() != 1 {
		t.Errorf("misses = %d, want 1", r.misses())
	}
}

func ptr(f float64) *float64 { return &f }
