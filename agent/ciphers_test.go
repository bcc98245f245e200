package agent

import (
	"slices"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// openSSHCiphers is OpenSSH's default client cipher list (ssh_config(5),
// unchanged from 6.9 to 9.9), in its order.
var openSSHCiphers = []string{
	gossh.CipherChaCha20Poly1305,
	gossh.CipherAES128CTR, "aes192-ctr", gossh.CipherAES256CTR,
	gossh.CipherAES128GCM, gossh.CipherAES256GCM,
}

// pick is what an SSH client negotiates (RFC 4253, 7.1): the first of
// its own list that the server offers.
func pick(client, server []string) string {
	for _, c := range client {
		if slices.Contains(server, c) {
			return c
		}
	}
	return ""
}

func TestCipherOffer(t *testing.T) {
	x86 := cpuFeatures{arch: "amd64", x86AES: true, x86PCLMULQDQ: true, x86SSE41: true, x86SSSE3: true}
	noPCLMUL := x86
	noPCLMUL.x86PCLMULQDQ = false
	x86On386 := x86
	x86On386.arch = "386"
	arm := cpuFeatures{arch: "arm64", arm64AES: true, arm64PMULL: true}
	armNoPMULL := arm
	armNoPMULL.arm64PMULL = false
	for _, tc := range []struct {
		name    string
		cpu     cpuFeatures
		openSSH string // what a plain `ssh` negotiates
	}{
		{"amd64 with AES-NI and PCLMULQDQ", x86, gossh.CipherAES128GCM},
		{"amd64 without PCLMULQDQ", noPCLMUL, gossh.CipherChaCha20Poly1305},
		{"amd64 without AES-NI", cpuFeatures{arch: "amd64", x86PCLMULQDQ: true, x86SSE41: true, x86SSSE3: true}, gossh.CipherChaCha20Poly1305},
		{"386, whose AES is never in assembly", x86On386, gossh.CipherChaCha20Poly1305},
		{"arm64 with AES and PMULL", arm, gossh.CipherAES128GCM},
		{"arm64 without PMULL", armNoPMULL, gossh.CipherChaCha20Poly1305},
		{"s390x with CPACF and GHASH", cpuFeatures{arch: "s390x", s390xAES: true, s390xAESCTR: true, s390xGHASH: true}, gossh.CipherAES128GCM},
		{"ppc64le", cpuFeatures{arch: "ppc64le"}, gossh.CipherAES128GCM},
		{"riscv64", cpuFeatures{arch: "riscv64", x86AES: true, arm64AES: true}, gossh.CipherChaCha20Poly1305},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offer := cipherOffer(tc.cpu)
			if got := pick(openSSHCiphers, offer); got != tc.openSSH {
				t.Errorf("OpenSSH negotiates %q from %v, want %q", got, offer, tc.openSSH)
			}
			// Every offer has AES-GCM, which every current client has,
			// and nothing but AEAD ciphers and AES-CTR.
			if !slices.Contains(offer, gossh.CipherAES128GCM) || !slices.Contains(offer, gossh.CipherAES256GCM) {
				t.Errorf("offer %v lacks AES-GCM", offer)
			}
			for _, c := range offer {
				if !slices.Contains(portableCipherOffer, c) {
					t.Errorf("offer %v has %q", offer, c)
				}
			}
		})
	}
}
