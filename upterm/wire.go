package upterm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The three messages upterm exchanges in protobuf (server/server.proto
// in upterm's source). They are small and flat, so they are encoded here
// by hand rather than through a protobuf runtime: field numbers and wire
// types are all there is to it. Unknown fields are skipped on decoding, as
// protobuf requires, so newer relays that add fields still parse.

// CreateSessionRequest is the payload of the host's create-session
// request.
type CreateSessionRequest struct {
	// HostUser is the host's login name, shown by upterm; informational.
	HostUser string // field 1
	// HostPublicKeys are the keys, in authorized_keys form, the host's
	// own SSH server presents; the relay accepts no other when it dials
	// the host for a guest.
	HostPublicKeys [][]byte // field 2
	// ClientAuthorizedKeys, in authorized_keys form, are the only guest
	// keys the relay lets in; empty lets in any key.
	ClientAuthorizedKeys [][]byte // field 3
}

// CreateSessionResponse is the relay's answer to CreateSessionRequest.
type CreateSessionResponse struct {
	SessionID string // field 1
	NodeAddr  string // field 2: the relay node holding the session
	SSHUser   string // field 3: what guests log in to the relay as; older relays leave it empty
}

// AuthRequest is what the relay tells the host about a guest, inside the
// user certificate it logs in to the host with.
type AuthRequest struct {
	ClientVersion string // field 1: the guest's SSH version string
	RemoteAddr    string // field 2: the guest's address as the relay saw it
	AuthorizedKey []byte // field 3: the key the guest logged in to the relay with
}

const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

func appendBytes(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|wireBytes)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendString leaves out empty strings, as proto3 does.
func appendString(b []byte, field int, s string) []byte {
	if s == "" {
		return b
	}
	return appendBytes(b, field, []byte(s))
}

// Marshal encodes r in protobuf's wire format.
func (r *CreateSessionRequest) Marshal() []byte {
	b := appendString(nil, 1, r.HostUser)
	for _, k := range r.HostPublicKeys {
		b = appendBytes(b, 2, k)
	}
	for _, k := range r.ClientAuthorizedKeys {
		b = appendBytes(b, 3, k)
	}
	return b
}

// Unmarshal decodes r from protobuf's wire format.
func (r *CreateSessionRequest) Unmarshal(b []byte) error {
	return eachField(b, func(field int, v []byte) {
		switch field {
		case 1:
			r.HostUser = string(v)
		case 2:
			r.HostPublicKeys = append(r.HostPublicKeys, v)
		case 3:
			r.ClientAuthorizedKeys = append(r.ClientAuthorizedKeys, v)
		}
	})
}

// Marshal encodes r in protobuf's wire format.
func (r *CreateSessionResponse) Marshal() []byte {
	b := appendString(nil, 1, r.SessionID)
	b = appendString(b, 2, r.NodeAddr)
	return appendString(b, 3, r.SSHUser)
}

// Unmarshal decodes r from protobuf's wire format.
func (r *CreateSessionResponse) Unmarshal(b []byte) error {
	return eachField(b, func(field int, v []byte) {
		switch field {
		case 1:
			r.SessionID = string(v)
		case 2:
			r.NodeAddr = string(v)
		case 3:
			r.SSHUser = string(v)
		}
	})
}

// Marshal encodes r in protobuf's wire format.
func (r *AuthRequest) Marshal() []byte {
	b := appendString(nil, 1, r.ClientVersion)
	b = appendString(b, 2, r.RemoteAddr)
	if len(r.AuthorizedKey) > 0 {
		b = appendBytes(b, 3, r.AuthorizedKey)
	}
	return b
}

// Unmarshal decodes r from protobuf's wire format.
func (r *AuthRequest) Unmarshal(b []byte) error {
	return eachField(b, func(field int, v []byte) {
		switch field {
		case 1:
			r.ClientVersion = string(v)
		case 2:
			r.RemoteAddr = string(v)
		case 3:
			r.AuthorizedKey = v
		}
	})
}

var errTruncated = errors.New("protobuf message is truncated")

// eachField calls f for every length-delimited field of the message b,
// and checks that the others are well formed.
func eachField(b []byte, f func(field int, v []byte)) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errTruncated
		}
		b = b[n:]
		field, typ := int(tag>>3), int(tag&7)
		if field == 0 {
			return errors.New("protobuf field number 0")
		}
		switch typ {
		case wireVarint:
			if _, n = binary.Uvarint(b); n <= 0 {
				return errTruncated
			}
			b = b[n:]
		case wire64, wire32:
			size := 8
			if typ == wire32 {
				size = 4
			}
			if len(b) < size {
				return errTruncated
			}
			b = b[size:]
		case wireBytes:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errTruncated
			}
			f(field, b[n:n+int(l)])
			b = b[n+int(l):]
		default:
			return fmt.Errorf("protobuf wire type %d is not supported", typ)
		}
	}
	return nil
}
