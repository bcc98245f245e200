//go:build unix

package integration

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// rawSSH is a minimal SSH client transport (RFC 4253): curve25519-sha256
// and aes128-gcm@openssh.com (RFC 5647), no host key check. AES-GCM is
// the one cipher the agent offers on every CPU. It
// exists to send what real clients never do, such as authentication
// methods with any name: x/crypto's client only sends the methods it
// implements.
type rawSSH struct {
	c         net.Conn
	r         *bufio.Reader
	seqOut    uint32
	seqIn     uint32
	encOut    cipher.AEAD
	encIn     cipher.AEAD
	ivOut     []byte // the 12-byte nonce: a fixed 4 bytes, then a counter
	ivIn      []byte
	serverVer string
}

func appendString(b []byte, s []byte) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
}

func appendMPInt(b []byte, n []byte) []byte {
	for len(n) > 0 && n[0] == 0 {
		n = n[1:]
	}
	if len(n) > 0 && n[0]&0x80 != 0 {
		n = append([]byte{0}, n...)
	}
	return appendString(b, n)
}

// readString reads one SSH string from p.
func readString(p []byte) ([]byte, []byte, error) {
	if len(p) < 4 || uint32(len(p)-4) < binary.BigEndian.Uint32(p) {
		return nil, nil, errors.New("short string")
	}
	n := binary.BigEndian.Uint32(p)
	return p[4 : 4+n], p[4+n:], nil
}

// dialRawSSH connects to addr, sending version as the client's version
// line, and exchanges keys.
func dialRawSSH(addr, version string) (*rawSSH, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	s := &rawSSH{c: c, r: bufio.NewReader(c)}
	if err := s.handshake(version); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

func (s *rawSSH) handshake(version string) error {
	vc := []byte(version)
	if _, err := s.c.Write(append(append([]byte(nil), vc...), '\r', '\n')); err != nil {
		return err
	}
	line, err := s.r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("server version: %w", err)
	}
	vs := []byte(line[:len(line)-2])
	s.serverVer = string(vs)

	ic := []byte{20}
	ic = append(ic, make([]byte, 16)...)
	for _, l := range []string{"curve25519-sha256", "ssh-ed25519", "aes128-gcm@openssh.com", "aes128-gcm@openssh.com",
		"hmac-sha2-256-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "none", "none", "", ""} {
		ic = appendString(ic, []byte(l))
	}
	ic = append(ic, 0, 0, 0, 0, 0)
	if err := s.write(ic); err != nil {
		return err
	}
	is, err := s.read()
	if err != nil || is[0] != 20 {
		return fmt.Errorf("server KEXINIT: %v", err)
	}
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	qc := priv.PublicKey().Bytes()
	if err := s.write(appendString([]byte{30}, qc)); err != nil {
		return err
	}
	reply, err := s.read()
	if err != nil || reply[0] != 31 {
		return fmt.Errorf("KEX_ECDH_REPLY: %v", err)
	}
	ks, rest, err := readString(reply[1:])
	if err != nil {
		return err
	}
	qs, _, err := readString(rest)
	if err != nil {
		return err
	}
	pub, err := ecdh.X25519().NewPublicKey(qs)
	if err != nil {
		return err
	}
	secret, err := priv.ECDH(pub)
	if err != nil {
		return err
	}
	var hb []byte
	for _, f := range [][]byte{vc, vs, ic, is, ks, qc, qs} {
		hb = appendString(hb, f)
	}
	hb = appendMPInt(hb, secret)
	hsum := sha256.Sum256(hb)
	h := hsum[:]
	k := appendMPInt(nil, secret)
	derive := func(x byte, n int) []byte {
		d := sha256.Sum256(append(append(append(append([]byte(nil), k...), h...), x), h...))
		return d[:n]
	}
	if err := s.write([]byte{21}); err != nil {
		return err
	}
	if p, err := s.read(); err != nil || p[0] != 21 {
		return fmt.Errorf("NEWKEYS: %v", err)
	}
	newGCM := func(key []byte) cipher.AEAD {
		b, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCM(b)
		return g
	}
	s.encOut, s.encIn = newGCM(derive('C', 16)), newGCM(derive('D', 16))
	s.ivOut, s.ivIn = derive('A', 12), derive('B', 12)
	return nil
}

// write sends one packet.
func (s *rawSSH) write(payload []byte) error {
	block := 8
	if s.encOut != nil {
		block = 16
	}
	// With AES-GCM the length field is left out of the padding's sum
	// (RFC 5647, section 7.2).
	pad := block - (1+len(payload))%block
	if s.encOut == nil {
		pad = block - (5+len(payload))%block
	}
	if pad < 4 {
		pad += block
	}
	body := append([]byte{byte(pad)}, payload...)
	body = append(body, make([]byte, pad)...)
	length := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	pkt := append(length, body...)
	if s.encOut != nil {
		pkt = s.encOut.Seal(pkt[:4], s.ivOut, pkt[4:], pkt[:4])
		nextIV(s.ivOut)
	}
	s.seqOut++
	_, err := s.c.Write(pkt)
	return err
}

// read receives one packet's payload.
func (s *rawSSH) read() ([]byte, error) {
	var lb [4]byte
	if _, err := io.ReadFull(s.r, lb[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n > 256*1024 || n < 5 {
		return nil, fmt.Errorf("packet length %d", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(s.r, body); err != nil {
		return nil, err
	}
	if s.encIn != nil {
		tag := make([]byte, s.encIn.Overhead())
		if _, err := io.ReadFull(s.r, tag); err != nil {
			return nil, err
		}
		plain, err := s.encIn.Open(body[:0], s.ivIn, append(body, tag...), lb[:])
		if err != nil {
			return nil, errors.New("bad tag from the server")
		}
		nextIV(s.ivIn)
		body = plain
	}
	s.seqIn++
	pad := int(body[0])
	if pad+1 > len(body) {
		return nil, errors.New("bad padding")
	}
	return body[1 : len(body)-pad], nil
}

// nextIV moves an AES-GCM nonce to the next packet's: its last 8 bytes
// are a counter (RFC 5647, section 7.1).
func nextIV(iv []byte) {
	binary.BigEndian.PutUint64(iv[4:], binary.BigEndian.Uint64(iv[4:])+1)
}

// userauth asks for the ssh-userauth service once, then sends one
// authentication request for user with method and no method data, and
// returns the server's answer's message number.
func (s *rawSSH) userauth(user, method string, first bool) (byte, error) {
	if first {
		if err := s.write(appendString([]byte{5}, []byte("ssh-userauth"))); err != nil {
			return 0, err
		}
		if p, err := s.read(); err != nil || p[0] != 6 {
			return 0, fmt.Errorf("SERVICE_ACCEPT: %v", err)
		}
	}
	req := appendString([]byte{50}, []byte(user))
	req = appendString(req, []byte("ssh-connection"))
	req = appendString(req, []byte(method))
	if err := s.write(req); err != nil {
		return 0, err
	}
	p, err := s.read()
	if err != nil {
		return 0, err
	}
	return p[0], nil
}
