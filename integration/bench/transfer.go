//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Ciphers whose throughput is measured: the two AEAD ciphers OpenSSH
// clients pick first, one using the CPU's AES instructions and one not.
var benchCiphers = []struct {
	name string
	// goal is the least throughput, as a share of sshd's, that pitstop
	// should reach. ChaCha20 is allowed more slack: x/crypto's
	// chacha20-poly1305 for SSH is not as tuned as OpenSSL's.
	goal float64
}{
	{"aes128-gcm@openssh.com", 0.95},
	{"chacha20-poly1305@openssh.com", 0.9},
}

// pairRuns times fn on pitstop and on sshd, runs times each, alternating
// which goes first so that neither always runs on a warmer (or busier)
// machine. It returns the seconds of each run, in pairs.
func pairRuns(runs int, agent, sshd *server, fn func(*server) (time.Duration, error)) (a, s []float64, err error) {
	for i := 0; i < runs; i++ {
		order := []*server{agent, sshd}
		if i%2 == 1 {
			order[0], order[1] = sshd, agent
		}
		for _, srv := range order {
			d, err := fn(srv)
			if err != nil {
				return nil, nil, fmt.Errorf("%s run %d: %w", srv.name, i+1, err)
			}
			if srv == agent {
				a = append(a, d.Seconds())
			} else {
				s = append(s, d.Seconds())
			}
		}
	}
	return a, s, nil
}

// throughputRow turns paired run times for size bytes into a row in MB/s
// (10^6 bytes a second), with the median of the pairs' ratios.
func throughputRow(name string, size int64, a, s []float64) row {
	mbps := func(secs []float64) []float64 {
		out := make([]float64, len(secs))
		for i, x := range secs {
			out[i] = float64(size) / x / 1e6
		}
		return out
	}
	am, sm := mbps(a), mbps(s)
	ratios := make([]float64, len(am))
	for i := range am {
		ratios[i] = am[i] / sm[i]
	}
	ratio := median(ratios)
	return compared(name, "MB/s", median(am), median(sm), &ratio)
}

// checkStream makes sure a small run of the remote command delivers
// exactly n bytes, so the timed runs (whose output goes to /dev/null)
// are known to move what they claim to.
func (l *lab) checkStream(srv *server, cipher string, n int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := l.sshCmd(ctx, srv, cipher, headCommand(n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("check %s with %s: %w", srv.name, cipher, err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("check %s with %s: %w", srv.name, cipher, err)
	}
	got, _ := io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("check %s with %s: %w: %s", srv.name, cipher, err, strings.TrimSpace(stderr.String()))
	}
	if got != n {
		return fmt.Errorf("check %s with %s: got %d bytes, want %d", srv.name, cipher, got, n)
	}
	return nil
}

func headCommand(n int64) string { return "head -c " + strconv.FormatInt(n, 10) + " /dev/zero" }

// bulk times `ssh HOST 'head -c SIZE /dev/zero' > /dev/null`, the whole
// client run from start to exit, as a user would time it.
func (l *lab) bulk(srv *server, cipher string, size int64) (time.Duration, error) {
	null, err := discard()
	if err != nil {
		return 0, err
	}
	defer null.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := l.sshCmd(ctx, srv, cipher, headCommand(size))
	cmd.Stdout = null
	start := time.Now()
	_, err = run(cmd)
	return time.Since(start), err
}

// measureBulk adds a row per cipher.
func (b *bench) measureBulk() error {
	for _, c := range benchCiphers {
		// The agent offers ChaCha20 only on CPUs without AES-GCM
		// instructions (agent/ciphers.go).
		if ok, err := b.lab.offers(b.agent, c.name); err != nil {
			return err
		} else if !ok {
			b.progress("bulk %s: skipped, pitstop does not offer it on this CPU", c.name)
			skipped, _ := b.rep.Settings["not_offered_by_pitstop"].([]string)
			b.rep.Settings["not_offered_by_pitstop"] = append(skipped, c.name)
			continue
		}
		if err := b.lab.checkStream(b.agent, c.name, 1<<20); err != nil {
			return err
		}
		if err := b.lab.checkStream(b.sshd, c.name, 1<<20); err != nil {
			return err
		}
		b.progress("bulk %s: %d × %s each way", c.name, b.opts.runs, formatSize(b.opts.bulkSize))
		// The agent's own CPU time (not its sessions') per second of
		// transfer: near 100% means it is what bounds the throughput.
		var busy []float64
		a, s, err := pairRuns(b.opts.runs, b.agent, b.sshd, func(srv *server) (time.Duration, error) {
			if srv != b.agent {
				return b.lab.bulk(srv, c.name, b.opts.bulkSize)
			}
			before, err := cpuSeconds(srv.pid())
			if err != nil {
				return 0, err
			}
			d, err := b.lab.bulk(srv, c.name, b.opts.bulkSize)
			after, cerr := cpuSeconds(srv.pid())
			if err == nil && cerr == nil {
				busy = append(busy, 100*(after-before)/d.Seconds())
			}
			return d, errors.Join(err, cerr)
		})
		if err != nil {
			return fmt.Errorf("bulk %s: %w", c.name, err)
		}
		name := fmt.Sprintf("exec %s %s", formatSize(b.opts.bulkSize), c.name)
		x := throughputRow(name, b.opts.bulkSize, a, s)
		target{atLeast: true, ratio: true, bound: c.goal}.judge(&x)
		x.Note = fmt.Sprintf("pitstop itself was busy %.0f%% of one CPU during the transfer (median)", median(append([]float64(nil), busy...)))
		b.rep.add(x)
		b.rep.Runs[name] = map[string][]float64{"pitstop_seconds": a, "sshd_seconds": s, "pitstop_cpu_percent": busy}
	}
	return nil
}

// measureSFTP downloads a file of pseudo-random bytes with OpenSSH's sftp
// from each server, to /dev/null.
func (b *bench) measureSFTP() error {
	size := b.opts.sftpSize
	src, err := b.lab.downloadFile(size)
	if err != nil {
		return err
	}
	defer os.Remove(src)
	cipher := benchCiphers[0].name
	b.progress("sftp download: %d × %s each way, %s", b.opts.runs, formatSize(size), cipher)
	a, s, err := pairRuns(b.opts.runs, b.agent, b.sshd, func(srv *server) (time.Duration, error) {
		return b.lab.download(srv, b.lab.sftp, cipher, src)
	})
	if err != nil {
		return fmt.Errorf("sftp download: %w", err)
	}
	name := fmt.Sprintf("sftp get %s %s", formatSize(size), cipher)
	b.rep.add(throughputRow(name, size, a, s))
	b.rep.Runs[name] = map[string][]float64{"pitstop_seconds": a, "sshd_seconds": s}
	return nil
}

// downloadFile writes the file the sftp and scp rows download.
func (l *lab) downloadFile(size int64) (string, error) {
	src := filepath.Join(l.dir, "download.bin")
	return src, writeRandom(src, size)
}

// download times fetching src from srv to /dev/null with prog, OpenSSH's
// sftp or scp, with cipher forced unless it is "".
func (l *lab) download(srv *server, prog, cipher, src string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := append([]string{"-F", l.sshConfig, "-P", strconv.Itoa(srv.port), "-q"}, cipherFlag(cipher)...)
	if prog == l.sftp {
		batch := filepath.Join(l.dir, "sftp.batch")
		if err := os.WriteFile(batch, []byte("get "+src+" "+os.DevNull+"\n"), 0o600); err != nil {
			return 0, fmt.Errorf("write sftp batch file: %w", err)
		}
		args = append(args, "-b", batch, "127.0.0.1")
	} else {
		args = append(args, "127.0.0.1:"+src, os.DevNull)
	}
	cmd := command(ctx, prog, args...)
	start := time.Now()
	_, err := run(cmd)
	return time.Since(start), err
}

// writeRandom writes size pseudo-random bytes to path: data that neither
// a sparse file nor compression could shortcut.
func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	var seed [32]byte
	if _, err := io.CopyN(f, rand.NewChaCha8(seed), size); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
