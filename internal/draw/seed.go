// Package draw implements the verifiable random draw published in section 1
// of DRAW-SPEC.md (algorithm "spotcheck-draw-v1") and the draw proof of
// section 3.
//
// The draw is a pure function of the batch's seed, its frozen population and
// the quota rule of every stratum, so that anyone holding the proof and the
// population published with it can recompute the drawn list: see [Verify].
// The seed binds a secret nonce, committed to with [Commitment] before the
// population is frozen, to a public beacon unknown at freeze time: see
// [Seed].
package draw

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"unicode/utf8"
)

// Algorithm is the name of the published draw algorithm implemented by this
// package, as it appears in proofs and test vectors.
const Algorithm = "spotcheck-draw-v1"

// NonceSize is the length in bytes of the secret nonce committed to when a
// batch is created.
const NonceSize = 32

// NewNonce returns a fresh secret nonce of [NonceSize] bytes from the
// operating system's CSPRNG.
func NewNonce() ([]byte, error) {
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("draw: reading nonce: %w", err)
	}
	return nonce, nil
}

// Commitment returns hex(SHA256(nonce)), the value published when a batch is
// created and checked against the nonce revealed in the proof.
func Commitment(nonce []byte) string {
	sum := sha256.Sum256(nonce)
	return hex.EncodeToString(sum[:])
}

// Seed returns the draw seed
//
//	SHA256("spotcheck-draw-v1" || 0x00 || batch_id || 0x00 || nonce || 0x00 || beacon)
//
// Seed hashes whatever it is given, but the encoding is only unambiguous
// if batchID contains no NUL byte, which [ValidateText] refuses, and nonce
// is exactly [NonceSize] bytes long. [Verify] checks both.
func Seed(batchID string, nonce []byte, beacon string) [32]byte {
	h := sha256.New()
	h.Write([]byte(Algorithm))
	h.Write([]byte{0})
	h.Write([]byte(batchID))
	h.Write([]byte{0})
	h.Write(nonce)
	h.Write([]byte{0})
	h.Write([]byte(beacon))
	var seed [32]byte
	h.Sum(seed[:0])
	return seed
}

// ValidateText reports whether value may be used as an object key, a stratum
// label, a batch ID or a beacon. It returns a *[FieldError] naming field if
// value contains a TAB, CR or LF, which the canonical population form uses as
// separators, a NUL byte, which would make the seed's encoding ambiguous in a
// batch ID and which PostgreSQL text cannot store, or invalid UTF-8, which
// would not survive the JSON proof unchanged. ValidateText accepts the empty
// string: whether a value may be empty depends on the field.
func ValidateText(field, value string) error {
	if problem := textProblem(value); problem != "" {
		return &FieldError{Field: field, Problem: problem}
	}
	return nil
}

// textProblem is ValidateText without the allocation of an error, for the
// hot loop over a population.
func textProblem(s string) string {
	// One comparison per byte in the common case: all four refused
	// bytes are below 14, and multi-byte UTF-8 shows in the high bit.
	var or byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '\r'+1 && (c == '\t' || c == '\r' || c == '\n' || c == 0) {
			return fmt.Sprintf("contains %s at byte %d", controlName(c), i)
		}
		or |= c
	}
	if or >= utf8.RuneSelf && !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	return ""
}

func controlName(c byte) string {
	switch c {
	case '\t':
		return "a TAB"
	case '\r':
		return "a CR"
	case '\n':
		return "an LF"
	}
	return "a NUL byte"
}

// A FieldError reports a malformed input value. Field names the offending
// value the way a client would write it, such as
// `quotas["item=ZR-01;risk=low"].ratio` or `population[17].object_key`, so
// that an HTTP handler can answer 400 Bad Request naming it.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string {
	return e.Field + ": " + e.Problem
}
