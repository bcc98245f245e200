//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"time"
)

// defaultGoal is the least throughput, as a share of sshd's, that a
// plain ssh, scp or sftp (no -c) should get from pitstop: each server's
// own offer decides the cipher there, and the agent's is chosen so that
// OpenSSH clients get the one it runs fastest on this CPU.
const defaultGoal = 1.2

var negotiatedRE = regexp.MustCompile(`kex: server->client cipher: (\S+)`)

// negotiated is the cipher a plain ssh gets from srv.
func (l *lab) negotiated(srv *server) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := l.sshCmd(ctx, srv, "", "true", "-v")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ssh -v %s: %w: %s", srv.name, err, tailBytes(out))
	}
	m := negotiatedRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("ssh -v %s: no cipher in its output: %s", srv.name, tailBytes(out))
	}
	return string(m[1]), nil
}

// offers tells whether srv accepts cipher.
func (l *lab) offers(srv *server, cipher string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// LogLevel INFO: the bench's ERROR hides the reason for a refusal.
	out, err := l.sshCmd(ctx, srv, cipher, "true", "-o", "LogLevel=INFO").CombinedOutput()
	switch {
	case err == nil:
		return true, nil
	case bytes.Contains(out, []byte("no matching cipher found")):
		return false, nil
	}
	return false, fmt.Errorf("ssh -c %s %s: %w: %s", cipher, srv.name, err, tailBytes(out))
}

func tailBytes(b []byte) string {
	if len(b) > 1000 {
		b = b[len(b)-1000:]
	}
	return string(b)
}

// measureDefaults adds rows for what people type: ssh, scp and sftp with
// no -c, so that each server's default offer decides the cipher.
func (b *bench) measureDefaults() error {
	agentCipher, err := b.lab.negotiated(b.agent)
	if err != nil {
		return err
	}
	sshdCipher, err := b.lab.negotiated(b.sshd)
	if err != nil {
		return err
	}
	note := fmt.Sprintf("the cipher without -c: pitstop %s, sshd %s", agentCipher, sshdCipher)
	goal := target{atLeast: true, ratio: true, bound: defaultGoal}
	add := func(name string, size int64, a, s []float64) {
		x := throughputRow(name, size, a, s)
		goal.judge(&x)
		x.Note = note
		b.rep.add(x)
		b.rep.Runs[name] = map[string][]float64{"pitstop_seconds": a, "sshd_seconds": s}
	}

	size := b.opts.bulkSize
	for _, srv := range []*server{b.agent, b.sshd} {
		if err := b.lab.checkStream(srv, "", 1<<20); err != nil {
			return err
		}
	}
	b.progress("default cipher, exec: %d × %s each way", b.opts.runs, formatSize(size))
	a, s, err := pairRuns(b.opts.runs, b.agent, b.sshd, func(srv *server) (time.Duration, error) {
		return b.lab.bulk(srv, "", size)
	})
	if err != nil {
		return fmt.Errorf("default cipher, exec: %w", err)
	}
	add(fmt.Sprintf("exec %s, default cipher", formatSize(size)), size, a, s)

	size = b.opts.sftpSize
	src, err := b.lab.downloadFile(size)
	defer os.Remove(src)
	if err != nil {
		return err
	}
	for _, prog := range []struct{ name, path string }{{"scp", b.lab.scp}, {"sftp", b.lab.sftp}} {
		b.progress("default cipher, %s download: %d × %s each way", prog.name, b.opts.runs, formatSize(size))
		a, s, err := pairRuns(b.opts.runs, b.agent, b.sshd, func(srv *server) (time.Duration, error) {
			return b.lab.download(srv, prog.path, "", src)
		})
		if err != nil {
			return fmt.Errorf("default cipher, %s download: %w", prog.name, err)
		}
		add(fmt.Sprintf("%s get %s, default cipher", prog.name, formatSize(size)), size, a, s)
	}
	return nil
}
