package agent

import (
	"runtime"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/sys/cpu"
)

// The cipher offer depends on the CPU the agent runs on, because an SSH
// client takes the first cipher of its own list that the server offers:
// the order of the server's list decides nothing. OpenSSH's list is
// chacha20-poly1305, aes*-ctr, then aes*-gcm, so a server that offers
// ChaCha20 or CTR gets one of those from a plain `ssh`. In Go, AES-GCM
// with AES and carry-less multiply instructions moves two to three times
// what x/crypto's ChaCha20-Poly1305 does (it has no assembly for the
// SSH variant); without them AES is slow and open to cache-timing
// attacks, and ChaCha20 is the better choice.
//
// So on a CPU with AES-GCM instructions the agent offers AES-GCM alone.
// Both are AEAD ciphers that audits rate as highly as ChaCha20, so no
// client gets anything weaker. What is lost is clients with neither
// AES-GCM nor a fallback they share with the other list: paramiko before
// 3.5 (CTR only) and PuTTY before 0.76 (ChaCha20 and CTR) are refused
// on such a machine with "no matching cipher". OpenSSH since 6.2,
// PuTTY 0.76, paramiko 3.5, asyncssh and Go's x/crypto all have AES-GCM.
var (
	// aesCipherOffer is offered on CPUs with AES-GCM instructions.
	aesCipherOffer = []string{
		gossh.CipherAES128GCM,
		gossh.CipherAES256GCM,
	}
	// portableCipherOffer is offered elsewhere: ChaCha20 first, as
	// OpenSSH clients pick it anyway; AES-GCM for clients that prefer
	// it; CTR, only ever paired with the ETM MACs, for clients without
	// AEAD ciphers.
	portableCipherOffer = []string{
		gossh.CipherChaCha20Poly1305,
		gossh.CipherAES256GCM,
		gossh.CipherAES128GCM,
		gossh.CipherAES256CTR,
		gossh.CipherAES128CTR,
	}
)

// cpuFeatures is what the cipher offer depends on, taken from
// golang.org/x/sys/cpu on the running machine (hostCPU) or made up in
// tests.
type cpuFeatures struct {
	arch                              string // runtime.GOARCH
	x86AES, x86PCLMULQDQ              bool
	x86SSE41, x86SSSE3                bool
	arm64AES, arm64PMULL              bool
	s390xAES, s390xAESCTR, s390xGHASH bool
}

// hostCPU is the machine the agent runs on.
var hostCPU = cpuFeatures{
	arch:         runtime.GOARCH,
	x86AES:       cpu.X86.HasAES,
	x86PCLMULQDQ: cpu.X86.HasPCLMULQDQ,
	x86SSE41:     cpu.X86.HasSSE41,
	x86SSSE3:     cpu.X86.HasSSSE3,
	arm64AES:     cpu.ARM64.HasAES,
	arm64PMULL:   cpu.ARM64.HasPMULL,
	s390xAES:     cpu.S390X.HasAES,
	s390xAESCTR:  cpu.S390X.HasAESCTR,
	s390xGHASH:   cpu.S390X.HasGHASH,
}

// fastAESGCM reports whether Go's AES-GCM runs in hardware on f: the same
// test crypto/tls makes (hasAESGCMHardwareSupport) before it prefers
// AES-GCM to ChaCha20, except on 386, where Go has no AES assembly
// whatever the CPU.
func (f cpuFeatures) fastAESGCM() bool {
	switch f.arch {
	case "amd64":
		return f.x86AES && f.x86PCLMULQDQ && f.x86SSE41 && f.x86SSSE3
	case "arm64":
		return f.arm64AES && f.arm64PMULL
	case "s390x":
		return f.s390xAES && f.s390xAESCTR && f.s390xGHASH
	case "ppc64", "ppc64le":
		// Go's AES-GCM has assembly for every POWER8 and later CPU,
		// the oldest Go runs on.
		return true
	}
	return false
}

// cipherOffer is the list of ciphers the agent offers on a CPU with
// features f.
func cipherOffer(f cpuFeatures) []string {
	if f.fastAESGCM() {
		return aesCipherOffer
	}
	return portableCipherOffer
}
