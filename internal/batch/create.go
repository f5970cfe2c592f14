package batch

// Create: a batch is stored with its rules checked and its nonce committed.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// A CreateRequest asks for a new batch. ID is the caller's business ID,
// such as "2026-ZR-001".
type CreateRequest struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Rules Rules  `json:"rules"`
	// Actor is who asks, for the record.
	Actor string `json:"-"`
}

// Create validates the request completely, stores the batch with a fresh
// secret nonce and publishes the nonce's commitment: the batch is
// committed. Creating a batch again with the same ID and the same request
// returns the existing batch; with a different request it is a conflict.
// A request whose population would be empty is refused.
func (s *Service) Create(ctx context.Context, req CreateRequest) (Batch, error) {
	var problems []fault.Problem
	if !validBatchID.MatchString(req.ID) {
		problems = append(problems, fault.Problem{Field: "id", Message: fmt.Sprintf("%q is not a batch ID: 1 to 64 letters, digits, '.', '_' or '-', such as \"2026-ZR-001\"", req.ID)})
	}
	if p := nameProblem(req.Name); p != "" {
		problems = append(problems, fault.Problem{Field: "name", Message: p})
	}
	if err := fault.Invalids("the batch is not valid", problems); err != nil {
		return Batch{}, err
	}
	actor := req.Actor
	if actor == "" {
		actor = "system"
	}

	err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		r, err := checkRules(ctx, tx, "rules", req.Rules)
		if err != nil {
			return err
		}
		digest := requestDigest(req.Name, r.Rules)
		if same, err := sameRequest(ctx, tx, req.ID, digest); err != nil || same {
			return err
		}

		now := s.now()
		groups, err := queryGroups(ctx, tx, r, req.ID, now, keysFor(r, noKeys), wholeTable)
		if err != nil {
			return err
		}
		if sim := summarize(r, groups, now); sim.Population == 0 {
			return emptyError(r, sim.Excluded)
		}

		nonce, err := s.nonce()
		if err != nil {
			return err
		}
		if len(nonce) != draw.NonceSize {
			return fmt.Errorf("nonce of %d bytes, want %d", len(nonce), draw.NonceSize)
		}
		rulesJSON, err := json.Marshal(r.Rules)
		if err != nil {
			return fmt.Errorf("encode rules: %w", err)
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO batches (id, name, state, rules, request_digest, commitment, committed_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			req.ID, req.Name, Committed, rulesJSON, digest, draw.Commitment(nonce), stamp(now), actor)
		if err != nil {
			return fmt.Errorf("store batch %s: %w", req.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Created meanwhile by a concurrent request.
			_, err := sameRequest(ctx, tx, req.ID, digest)
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO batch_secrets (batch_id, nonce) VALUES ($1, $2)`, req.ID, nonce); err != nil {
			return fmt.Errorf("store nonce of batch %s: %w", req.ID, err)
		}
		for i, it := range r.Items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO batch_items (batch_id, position, item_code, item_version) VALUES ($1, $2, $3, $4)`,
				req.ID, i, it.Code, it.Version); err != nil {
				return fmt.Errorf("store items of batch %s: %w", req.ID, err)
			}
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "draw.commit", Entity: "batch", EntityID: req.ID,
			Payload: map[string]any{"commitment": draw.Commitment(nonce), "rules": r}})
		return err
	})
	if err != nil {
		return Batch{}, err
	}
	return s.Get(ctx, req.ID)
}

// sameRequest reports whether batch id exists with the request digest; it
// is a conflict if it exists with another.
func sameRequest(ctx context.Context, tx *sqlx.Tx, id, digest string) (bool, error) {
	var stored string
	err := tx.GetContext(ctx, &stored, `SELECT request_digest FROM batches WHERE id = $1`, id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read batch %s: %w", id, err)
	case stored != digest:
		return false, fault.New(fault.Conflict, "batch %s already exists with other rules or another name; choose a new ID for a new batch", id)
	}
	return true, nil
}

// requestDigest identifies a create request by its normalised content.
func requestDigest(name string, r Rules) string {
	b, _ := json.Marshal(struct {
		Name  string `json:"name"`
		Rules Rules  `json:"rules"`
	}{name, r})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func nameProblem(name string) string {
	switch {
	case len(name) > maxNameLen:
		return fmt.Sprintf("is longer than %d bytes", maxNameLen)
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "contains a control character"
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	return ""
}

// keysFor returns what the population query must return to count the
// population: a joint draw needs every key to deduplicate objects.
func keysFor(r *rules, want keysWanted) keysWanted {
	if len(r.items) > 1 {
		return allKeys
	}
	return want
}

// emptyError refuses rules under which nothing can be drawn, naming the
// part of the rules to change.
func emptyError(r *rules, excluded Excluded) error {
	field := "rules.items"
	if len(r.Filter.Kinds)+len(r.Filter.Tags)+len(r.Filter.Regions) > 0 {
		field = "rules.filter"
	}
	if excluded.Total() == 0 {
		return fault.Field(field, "the population is empty: no active object is in scope of the items and the filter")
	}
	return fault.Field(field, "the population is empty: all %d objects in scope are left out (%d inspected within the window, %d with an open follow-up, %d drawn in another open batch)",
		excluded.Total(), excluded.RecentlyInspected, excluded.OpenFollowUp, excluded.InOpenBatch)
}
