//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pitstopci/pitstop/agent/control"
	"github.com/pitstopci/pitstop/internal/uptermtest"
	"github.com/pitstopci/pitstop/internal/wire"
)

// The relay measurement compares the agent reached through an upterm
// relay with the same agent reached directly: what going through a relay
// that terminates SSH costs. The relay is the repository's test relay,
// run in this process and recording nothing, on the same machine; a real
// relay adds the network's round trips on top, which no bench here can
// stand for.

// startRelayAgent runs an agent that registers with relay, and returns it
// once its ready file exists, set up for ssh -J through the relay.
func (l *lab) startRelayAgent(relay *uptermtest.Relay) (*server, error) {
	name := "agent-relay"
	ready := filepath.Join(l.dir, name+".ready.json")
	relayKH := filepath.Join(l.dir, "relay_known_hosts")
	if err := os.WriteFile(relayKH, []byte(relay.KnownHosts()+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write relay known_hosts: %w", err)
	}
	args := l.agentArgs(ready)
	// No local listener: drop --listen and --advertise-host.
	for i := 0; i < len(args); i++ {
		if args[i] == "--listen" || args[i] == "--advertise-host" {
			args = append(args[:i], args[i+2:]...)
			i--
		}
	}
	args = append(args, "--relay", "upterm://"+relay.Addr, "--relay-known-hosts", relayKH)
	// Keepalives that find a guest gone within seconds, for the guests
	// measurement (the relay never says that one left).
	args = append(args, "--client-alive-interval", "1s", "--client-alive-count-max", "2")
	s := &server{name: "pitstop via relay", log: filepath.Join(l.dir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, fmt.Errorf("create agent log: %w", err)
	}
	defer logf.Close()
	s.cmd = exec.Command(l.bin, args...)
	s.cmd.Env = agentEnv()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start agent: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }() //nolint:errcheck // its log says why
	if err := waitFile(ready, s.done, 30*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("agent via relay: %w (log: %s)", err, tail(s.log))
	}
	doc, err := wire.LoadReady(ready)
	if err == nil && doc.Jump == "" {
		err = errors.New("it names no jump host")
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("read ready file of the agent via relay: %w", err)
	}
	s.jump, s.alias, s.control = doc.Jump, doc.Host, doc.ControlSocket
	kh := filepath.Join(l.dir, "relay_user_known_hosts")
	if err := os.WriteFile(kh, []byte(relay.KnownHosts()+"\n"+doc.KnownHosts+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	// The lab's ssh_config without its HostName (the host behind -J is a
	// name the relay is handed, not resolved), and one cipher for both
	// hops: -c reaches only the second.
	main, err := os.ReadFile(l.sshConfig)
	if err != nil {
		return nil, fmt.Errorf("read ssh_config: %w", err)
	}
	var conf []string
	for _, line := range strings.Split(strings.TrimSpace(string(main)), "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "HostName "):
		case strings.HasPrefix(strings.TrimSpace(line), "UserKnownHostsFile "):
			conf = append(conf, "  UserKnownHostsFile "+kh)
		default:
			conf = append(conf, line)
		}
	}
	conf = append(conf, "  Ciphers "+benchCiphers[0].name)
	s.config = filepath.Join(l.dir, "ssh_config_relay")
	if err := os.WriteFile(s.config, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write ssh_config: %w", err)
	}
	return s, nil
}

// measureRelay adds rows for bulk throughput and keystroke echo through
// the test relay, with the agent reached directly in the sshd column.
func (b *bench) measureRelay() error {
	relay, err := uptermtest.Listen(uptermtest.Options{NoRecord: true})
	if err != nil {
		return fmt.Errorf("start the test relay: %w", err)
	}
	defer relay.Close()
	via, err := b.lab.startRelayAgent(relay)
	if err != nil {
		return err
	}
	defer via.stop()
	cipher := benchCiphers[0].name
	note := "pitstop column: through the upterm test relay (in the bench's process, on this machine); sshd column: the same agent reached directly"
	size := max(b.opts.bulkSize/4, 1<<20)
	if err := b.lab.checkStream(via, cipher, 1<<20); err != nil {
		return err
	}
	if err := b.measureRelayGuests(via, cipher); err != nil {
		return err
	}
	b.progress("relay bulk: %d × %s each way, %s", b.opts.runs, formatSize(size), cipher)
	// The CPU time each transfer costs the agent, and the relay (this
	// process): on one machine the relayed path's processes share its
	// CPUs, so what they spend bounds what they move.
	cpu := map[string][]float64{}
	a, d, err := pairRuns(b.opts.runs, via, b.agent, func(srv *server) (time.Duration, error) {
		agent0, err1 := cpuSeconds(srv.pid())
		relay0, err2 := cpuSeconds(os.Getpid())
		t, err := b.lab.bulk(srv, cipher, size)
		agent1, err3 := cpuSeconds(srv.pid())
		relay1, err4 := cpuSeconds(os.Getpid())
		if err == nil {
			err = errors.Join(err1, err2, err3, err4)
		}
		if srv == via {
			cpu["relay_agent_cpu_seconds"] = append(cpu["relay_agent_cpu_seconds"], agent1-agent0)
			cpu["relay_cpu_seconds"] = append(cpu["relay_cpu_seconds"], relay1-relay0)
		} else {
			cpu["direct_agent_cpu_seconds"] = append(cpu["direct_agent_cpu_seconds"], agent1-agent0)
		}
		return t, err
	})
	if err != nil {
		return fmt.Errorf("relay bulk: %w", err)
	}
	name := fmt.Sprintf("via upterm relay: exec %s %s", formatSize(size), cipher)
	x := throughputRow(name, size, a, d)
	x.Note = note + fmt.Sprintf("; CPU per transfer (median): agent %.2f s and relay %.2f s through the relay, agent %.2f s direct",
		median(cpu["relay_agent_cpu_seconds"]), median(cpu["relay_cpu_seconds"]), median(cpu["direct_agent_cpu_seconds"]))
	b.rep.add(x)
	cpu["relay_seconds"], cpu["direct_seconds"] = a, d
	b.rep.Runs[name] = cpu

	b.progress("relay echo latency: %d keystrokes each way, %s", b.opts.keystrokes, cipher)
	samples, err := b.echoSamples(via, b.agent, cipher, false)
	if err != nil {
		return fmt.Errorf("relay echo latency: %w", err)
	}
	for _, p := range []struct {
		name string
		p    float64
	}{{"p50", 50}, {"p99", 99}} {
		x := compared(fmt.Sprintf("via upterm relay: echo round trip %s (pty, %d keys)", p.name, len(samples[0])), "µs",
			percentile(samples[0], p.p), percentile(samples[1], p.p), nil)
		x.Note = note
		b.rep.add(x)
	}
	return nil
}

// relayGuests is how many guests measureRelayGuests sends through the
// relay after its warm-up ones.
const relayGuests, relayWarmUp = 200, 100

// measureRelayGuests adds a row for the agent's memory after many guests
// came and went through the relay, each with "ssh -J … true": the relay
// never tells the agent that one left, so each is only found gone by the
// keepalives. The agent's memory after the warm-up guests is the
// baseline, once the Go heap has grown to its working size; it must not
// grow with the guests that follow.
func (b *bench) measureRelayGuests(via *server, cipher string) error {
	b.progress("relay guests: %d + %d × ssh -J … true", relayWarmUp, relayGuests)
	guests := func(n int) error {
		for i := 0; i < n; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, err := run(b.lab.sshCmd(ctx, via, cipher, "true"))
			cancel()
			if err != nil {
				return fmt.Errorf("relay guests: %w", err)
			}
		}
		// Every guest found gone: nobody counted connected.
		deadline := time.Now().Add(time.Minute)
		for {
			st, err := control.QueryStatus(context.Background(), via.control)
			if err == nil && st.Connections == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("relay guests: %d connections still counted a minute after the guests left (%v)", st.Connections, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := guests(relayWarmUp); err != nil {
		return err
	}
	base, err := rssMB([]int{via.pid()})
	if err != nil {
		return err
	}
	if err := guests(relayGuests); err != nil {
		return err
	}
	after, err := rssMB([]int{via.pid()})
	if err != nil {
		return err
	}
	note := fmt.Sprintf("sshd column: the same agent after %d warm-up guests; pitstop column: after %d more, each found gone by the keepalives", relayWarmUp, relayGuests)
	x := compared(fmt.Sprintf("via upterm relay: agent VmRSS after %d guests left", relayGuests), "MB", after, base, nil)
	x.Note = note
	b.rep.add(x)
	b.rep.Runs["relay_guests"] = map[string][]float64{"rss_mb": {base, after}}
	return nil
}
