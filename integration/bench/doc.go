//go:build unix

// Command bench measures pitstop side by side with OpenSSH on one machine,
// in one run, and prints the numbers with the project's targets.
//
// It builds pitstop from this checkout, starts `pitstop agent` (its keys
// fetched from a local stand-in for the GitHub API, so the agent takes the
// same path as on a runner) and a real OpenSSH sshd, both on 127.0.0.1, and
// drives both with the same OpenSSH client, user key, key exchange and
// (but for the default-cipher rows) cipher. It measures
//
//   - bulk throughput of an exec session (head -c 1G /dev/zero), for
//     aes128-gcm@openssh.com and chacha20-poly1305@openssh.com, in
//     alternating runs;
//   - an sftp download;
//   - what people type: ssh, scp and sftp without -c, so that each
//     server's own offer decides the cipher;
//   - keystroke-to-echo round trips on a pty;
//   - the agent's time from start to its ready file, its resident memory
//     idle and with sessions open, and the size of its binary;
//   - many exec sessions at once;
//   - pitstop act on an empty Go build cache, from act's start to the
//     pause being ready (and the same building the agent from source);
//   - memory with 20 interactive shells printing without a pause, which
//     the agent keeps in terminal emulators for reattaching;
//   - the injector's time per file over a corpus of real workflows.
//
// Run it with `task bench`, or `go run ./integration/bench -h` for the
// flags. It is not a test: it takes minutes, wants an otherwise quiet
// machine, and judges its numbers against targets in its output (the
// PASS/MISS column) rather than failing a build. It exits non-zero only
// when something could not be measured.
//
// It owns nothing the product uses; the agent and the injector are run as
// a user would run them.
package main
