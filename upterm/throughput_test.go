package upterm_test

import (
	"io"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pitstopci/pitstop/internal/testutil"
	"github.com/pitstopci/pitstop/internal/uptermtest"
)

// BenchmarkInnerSSH moves bulk data over an inner SSH connection, as a
// user's "ssh HOST cat BIG" does, reached through the test relay and
// directly over loopback TCP, so the two can be compared and profiled in
// one process:
//
//	go test ./upterm -run '^$' -bench InnerSSH -cpuprofile cpu.out -blockprofile block.out
//
// integration/bench measures the same through the real agent and OpenSSH.
func BenchmarkInnerSSH(b *testing.B) {
	const chunk = 32 << 10
	const size = 32 << 20
	serve := func(b *testing.B, c net.Conn, key ssh.Signer) {
		cfg := &ssh.ServerConfig{NoClientAuth: true}
		cfg.AddHostKey(key)
		conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
		if err != nil {
			return
		}
		defer conn.Close()
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			ch, creqs, err := nc.Accept()
			if err != nil {
				return
			}
			go ssh.DiscardRequests(creqs)
			go func() {
				// Each request for data is a byte: send size bytes back.
				buf := make([]byte, chunk)
				one := make([]byte, 1)
				for {
					if _, err := ch.Read(one); err != nil {
						ch.Close()
						return
					}
					for n := 0; n < size; n += chunk {
						if _, err := ch.Write(buf); err != nil {
							return
						}
					}
				}
			}()
		}
	}
	run := func(b *testing.B, c net.Conn, key ssh.Signer) {
		conn, chans, reqs, err := ssh.NewClientConn(c, "inner", &ssh.ClientConfig{
			User: "runner", HostKeyCallback: ssh.FixedHostKey(key.PublicKey()),
		})
		if err != nil {
			b.Fatal(err)
		}
		client := ssh.NewClient(conn, chans, reqs)
		defer client.Close()
		ch, creqs, err := client.OpenChannel("bulk", nil)
		if err != nil {
			b.Fatal(err)
		}
		go ssh.DiscardRequests(creqs)
		buf := make([]byte, 64<<10)
		b.SetBytes(size)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := ch.Write([]byte{1}); err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, io.LimitReader(ch, size), buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	key := testutil.NewSSHSigner(b)

	b.Run("direct", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				serve(b, c, key)
			}
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		run(b, c, key)
	})

	b.Run("relay", func(b *testing.B) {
		relay := uptermtest.Start(b, uptermtest.Options{NoRecord: true})
		actor := testutil.NewSSHSigner(b)
		s, _ := dialHost(b, relay, actor.PublicKey())
		g, err := guest(b, relay, s.SSHUser, actor)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			c, err := s.Accept()
			if err == nil {
				serve(b, c, key)
			}
		}()
		c, err := g.Dial("tcp", "pitstop:22")
		if err != nil {
			b.Fatal(err)
		}
		run(b, c, key)
	})
}
