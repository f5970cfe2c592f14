// Package audit keeps the audit trail (全程留痕、可溯源): every state change of
// the system — library edits, draws, matches, replacements, results,
// reviews, publications, extensions, API keys — as one row of a hash chain
// in the table audit_log.
//
// Callers append in the transaction that makes the change, so the change
// and its record commit together or not at all:
//
//	if _, err := audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "draw.execute",
//		Entity: "batch", EntityID: batchID, Payload: proofSummary}); err != nil {
//		return err
//	}
//	return tx.Commit()
//
// Appends are serialised by a row lock held until the transaction ends, so
// append last, just before committing. Library edits need no call: a
// trigger chains every library_changes row when its transaction commits.
//
// # The chain
//
// Rows are numbered 1, 2, 3, … without gaps. Row n stores prev_hash, the
// hash of row n-1 (64 "0" for row 1), and
//
//	hash = hex(SHA-256(raw 32 bytes of prev_hash || content))
//
// where content is, in UTF-8, joined by single 0x00 bytes:
//
//	"spotcheck-audit-v1", seq in decimal, at as UTC RFC 3339 with exactly six
//	fractional digits ("2026-03-09T01:02:03.000450Z"), actor, action, entity,
//	entity_id, payload
//
// and payload is the JSON text PostgreSQL renders for the stored jsonb
// value (keys sorted by length then bytes, numbers normalised, ", " and
// ": " separators): it is what is stored, so anyone holding a dump of the
// table recomputes every hash exactly. None of the fields can contain a
// 0x00 byte (PostgreSQL text cannot). The head (audit_head) holds the last
// row's seq and hash, so deleting rows at the end is noticed as well.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

// Genesis is the prev_hash of the first row.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one state change to record.
type Entry struct {
	// Actor is who made the change: "<role>:<subject>" for API callers (the
	// API's actorOf), "cli:<user>" for the command line, "system" or
	// "workflow:<id>" for the server itself.
	Actor string
	// Action is what happened, "<area>.<verb>": "draw.execute",
	// "match.assign", "result.enter", "token.create", "library.update".
	Action string
	// Entity is the kind of thing changed ("batch", "task", "object",
	// "api_key"); EntityID which one (may be empty).
	Entity   string
	EntityID string
	// Payload is what an auditor needs to understand the change; it must
	// marshal to a JSON object. A json.RawMessage or []byte is used as is.
	// nil records {}.
	Payload any
}

// Record is one row of the audit trail.
type Record struct {
	Seq      int64     `db:"seq" json:"seq"`
	At       time.Time `db:"at" json:"at"`
	Actor    string    `db:"actor" json:"actor"`
	Action   string    `db:"action" json:"action"`
	Entity   string    `db:"entity" json:"entity"`
	EntityID string    `db:"entity_id" json:"entity_id"`
	// Payload is the stored JSON as PostgreSQL renders it (the bytes the
	// hash covers).
	Payload  json.RawMessage `db:"payload" json:"payload"`
	PrevHash string          `db:"prev_hash" json:"prev_hash"`
	Hash     string          `db:"hash" json:"hash"`
}

// columns selects a Record. The driver receives jsonb in PostgreSQL's text
// rendering, the bytes the hash covers.
const columns = `seq, at, actor, action, entity, entity_id, payload, prev_hash, hash`

// Append records e in the chain, inside the caller's transaction (or as a
// statement of its own when q is a *sqlx.DB), and returns the row.
func Append(ctx context.Context, q sqlx.QueryerContext, e Entry) (Record, error) {
	if e.Actor == "" || e.Action == "" || e.Entity == "" {
		return Record{}, fmt.Errorf("audit entry %q on %q by %q: actor, action and entity are required", e.Action, e.Entity, e.Actor)
	}
	payload, err := payloadJSON(e.Payload)
	if err != nil {
		return Record{}, fmt.Errorf("audit entry %s on %s %s: %w", e.Action, e.Entity, e.EntityID, err)
	}
	var r Record
	err = sqlx.GetContext(ctx, q, &r, `SELECT `+columns+` FROM audit_append($1, $2, $3, $4, $5::jsonb)`,
		e.Actor, e.Action, e.Entity, e.EntityID, payload)
	if err != nil {
		return Record{}, fmt.Errorf("append audit entry %s on %s %s: %w", e.Action, e.Entity, e.EntityID, err)
	}
	return r, nil
}

func payloadJSON(p any) (string, error) {
	var b []byte
	switch v := p.(type) {
	case nil:
		return "{}", nil
	case json.RawMessage:
		b = v
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(p); err != nil {
			return "", fmt.Errorf("payload cannot be written as JSON: %w", err)
		}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return "", fmt.Errorf("payload must be a JSON object")
	}
	return string(b), nil
}

// Content returns the canonical content of r, the bytes its hash covers
// after the previous hash (see the package documentation).
func Content(r Record) []byte {
	var b []byte
	add := func(s string) {
		b = append(b, s...)
		b = append(b, 0)
	}
	add("spotcheck-audit-v1")
	add(strconv.FormatInt(r.Seq, 10))
	add(FormatTime(r.At))
	add(r.Actor)
	add(r.Action)
	add(r.Entity)
	add(r.EntityID)
	return append(b, r.Payload...)
}

// FormatTime renders a row's time as the content does: UTC, six fractional
// digits.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// Hash computes the hash of r from prevHash and r's content; prevHash must
// be 64 hex digits.
func Hash(prevHash string, r Record) (string, error) {
	prev, err := hex.DecodeString(prevHash)
	if err != nil || len(prev) != sha256.Size {
		return "", fmt.Errorf("prev_hash %q is not 64 hex digits", prevHash)
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(Content(r))
	return hex.EncodeToString(h.Sum(nil)), nil
}
