// Package staffing runs the county inspector match of a batch (随机匹配,
// DRAW-SPEC section 2) on the libraries in PostgreSQL, and stores it.
//
// The algorithm is [match.Match]; this package builds its inputs from the
// data and keeps the outcome:
//
//   - the pool: the county's inspectors (by the rule that assigns objects to
//     counties at lock), active, with a certificate valid through the end of
//     the inspection period, with their load today (open tasks);
//   - each drawn object of the county: k is the largest inspectors_required
//     of the batch's item versions that apply to it, required_tags their
//     union, and recused the declared conflicts of interest, the team of the
//     object's latest task in another batch and, when an applying item asks
//     for cross-station matching, the inspectors whose unit is the object's
//     station;
//   - a batch is one match over the county's whole pool, one team per
//     visit whatever departments own its items; a joint batch (one of its
//     items names joint departments, 联合检查) is matched once per
//     department over that department's own inspectors, each with its own
//     proof, and an object's team is the concatenation, in department order.
//
// A match that cannot staff every object stores nothing and fails with a
// fault.Conflict whose Details list every such object ([]Unstaffed). A
// stored match is final: asking again with the same request returns it
// (activities are retried), a different request is a Conflict. Replacing
// one inspector of one object ([Service.Replace]) is round r+1 for that
// object alone; the replaced assignment is kept with its reason.
//
// Every proof is stored (table matches) and can be recomputed by anyone
// holding it ([Verify], `spotcheck verify-match`).
package staffing

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/match"
	"github.com/spotcheck-gov/spotcheck/internal/pgtx"
)

// A Service matches and replaces inspectors in PostgreSQL.
type Service struct {
	db *sqlx.DB
}

// NewService returns the matching service over db.
func NewService(db *sqlx.DB) *Service { return &Service{db: db} }

// Unstaffed is an object that cannot be given a full team: the Details of
// an infeasible match's fault, one per object (and department, in a joint
// batch).
type Unstaffed struct {
	ObjectKey  string `json:"object_key"`
	Department string `json:"department_code,omitempty"`
	// Eligible counts the inspectors qualified for the object and not
	// recused, whatever their load; Available those of them still below
	// their max_load when the object's turn came.
	Eligible  int `json:"eligible"`
	Available int `json:"available"`
}

// matchable reports whether a batch in state may be matched: its drawn
// list is locked and the batch is not finished.
func matchable(state string) bool { return state == "locked" || state == "in_progress" }

// MatchCounty matches the inspectors of county to its drawn objects in
// batch in.BatchID (round 1) and stores the proofs and teams, with an audit
// entry, in one transaction. It returns each object's team.
func (s *Service) MatchCounty(ctx context.Context, in MatchInput) (MatchResult, error) {
	if err := checkMatchInput(in); err != nil {
		return MatchResult{}, err
	}
	by := in.By
	if by == "" {
		by = "system"
	}
	digest := matchDigest(in)
	var res MatchResult
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockCounty(ctx, tx, in.BatchID, in.County); err != nil {
			return err
		}
		// A match already stored: the same request is a retry.
		var stored []struct {
			Digest    string `db:"request_digest"`
			CreatedBy string `db:"created_by"`
			CreatedAt string `db:"created_at"`
		}
		if err := tx.SelectContext(ctx, &stored, `
			SELECT request_digest, created_by, to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS created_at
			FROM matches WHERE batch_id = $1 AND county_code = $2 AND kind = 'match'`, in.BatchID, in.County); err != nil {
			return fmt.Errorf("read the match of county %s in batch %s: %w", in.County, in.BatchID, err)
		}
		if len(stored) > 0 {
			if stored[0].Digest != digest {
				return fault.New(fault.Conflict, "county %s of batch %s was already matched on %s by %s; a match is final (replace single inspectors instead)",
					in.County, in.BatchID, stored[0].CreatedAt, stored[0].CreatedBy)
			}
			var err error
			res, err = storedResult(ctx, tx, in.BatchID, in.County)
			return err
		}

		drawSeed, err := readBatch(ctx, tx, in.BatchID)
		if err != nil {
			return err
		}
		p, err := loadPlan(ctx, tx, in.BatchID)
		if err != nil {
			return err
		}
		objs, err := loadObjects(ctx, tx, in.BatchID, in.County, "")
		if err != nil {
			return err
		}
		var setAside []SetAside
		if err := tx.SelectContext(ctx, &setAside, setAsideQuery+` WHERE batch_id = $1 AND county_code = $2 ORDER BY object_key`,
			in.BatchID, in.County); err != nil {
			return fmt.Errorf("read the objects set aside in county %s of batch %s: %w", in.County, in.BatchID, err)
		}
		if len(objs) == 0 && len(setAside) == 0 {
			return fault.New(fault.NotFound, "batch %s has no drawn object assigned to county %s", in.BatchID, in.County)
		}
		if len(objs) == 0 {
			// Every object was set aside: nothing to match, nothing stored.
			res = MatchResult{Teams: map[string][]string{}, Round: 1, SetAside: setAsideKeys(setAside)}
			return nil
		}
		pool, err := loadPool(ctx, tx, in.County, in.InspectionEnd)
		if err != nil {
			return err
		}
		depts, err := p.build(objs, pool)
		if err != nil {
			return err
		}

		// Every department's round, then nothing stored unless all staff
		// every object.
		proofs := make([]Proof, len(depts))
		var unstaffed []Unstaffed
		for i, d := range depts {
			mp, err := match.NewProof(drawSeed, in.County, 1, in.Beacon, d.objects, d.inspectors)
			var inf *match.InfeasibleError
			switch {
			case errors.As(err, &inf):
				for _, o := range inf.Objects {
					unstaffed = append(unstaffed, Unstaffed{ObjectKey: o.ObjectKey, Department: d.department, Eligible: o.Eligible, Available: o.Available})
				}
			case err != nil:
				return inputFault(err, d)
			}
			proofs[i] = Proof{Kind: KindMatch, BatchID: in.BatchID, DepartmentCode: d.department, Proof: mp, SetAside: setAside}
		}
		if unstaffed != nil {
			return infeasible(in.BatchID, in.County, unstaffed)
		}
		res, err = storeMatch(ctx, tx, in, by, digest, proofs)
		res.SetAside = setAsideKeys(setAside)
		return err
	})
	if err != nil {
		return MatchResult{}, err
	}
	return res, nil
}

func checkMatchInput(in MatchInput) error {
	var problems []fault.Problem
	if in.BatchID == "" {
		problems = append(problems, fault.Problem{Field: "batch_id", Message: "is required"})
	}
	if in.County == "" {
		problems = append(problems, fault.Problem{Field: "county", Message: "is required"})
	}
	if strings.ContainsAny(in.Beacon, "\t\r\n\x00") || !utf8.ValidString(in.Beacon) {
		problems = append(problems, fault.Problem{Field: "beacon", Message: "must be valid UTF-8 without TAB, CR, LF or NUL"})
	}
	if !in.InspectionEnd.IsValid() {
		problems = append(problems, fault.Problem{Field: "inspection_end",
			Message: "is required: the last day of the inspection period, through which certificates must be valid"})
	}
	return fault.Invalids("the match request is incomplete", problems)
}

// matchDigest identifies a match request, so that a retry is told from a
// different request.
func matchDigest(in MatchInput) string {
	h := sha256.New()
	for _, f := range []string{in.BatchID, in.County, in.Beacon, in.InspectionEnd.String(), strconv.FormatBool(in.Auto), in.By} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// lockCounty serialises the matches and replacements of one county of a
// batch until the transaction ends. Their rows' keys would refuse a
// duplicate anyway; the lock turns the race into a clean answer.
func lockCounty(ctx context.Context, tx *sqlx.Tx, batchID, county string) error {
	h := fnv.New64a()
	h.Write([]byte("spotcheck-match\x00" + batchID + "\x00" + county))
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return fmt.Errorf("lock county %s of batch %s: %w", county, batchID, err)
	}
	return nil
}

// readBatch checks that the batch can be matched and returns its draw seed.
// The row is share-locked so that its state cannot change underneath.
func readBatch(ctx context.Context, tx *sqlx.Tx, batchID string) ([32]byte, error) {
	var b batchRow
	err := tx.GetContext(ctx, &b, `SELECT state, seed FROM batches WHERE id = $1 FOR SHARE`, batchID)
	if errors.Is(err, sql.ErrNoRows) {
		return [32]byte{}, fault.New(fault.NotFound, "there is no batch %s", batchID)
	}
	if err != nil {
		return [32]byte{}, fmt.Errorf("read batch %s: %w", batchID, err)
	}
	if !matchable(b.State) {
		return [32]byte{}, fault.New(fault.Conflict, "batch %s is %s; inspectors are matched once its drawn list is locked and until it is published", batchID, b.State)
	}
	seed, err := hex.DecodeString(b.Seed.String)
	if err != nil || len(seed) != 32 {
		return [32]byte{}, fmt.Errorf("batch %s is %s but has no valid draw seed (%q)", batchID, b.State, b.Seed.String)
	}
	return [32]byte(seed), nil
}

func infeasible(batchID, county string, unstaffed []Unstaffed) error {
	const shown = 5
	var b strings.Builder
	fmt.Fprintf(&b, "%d of the objects of batch %s in county %s cannot be staffed, so nobody was assigned: ", len(unstaffed), batchID, county)
	for i, u := range unstaffed {
		if i == shown {
			fmt.Fprintf(&b, " and %d more", len(unstaffed)-shown)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (eligible %d, available %d)", u.ObjectKey, u.Eligible, u.Available)
	}
	b.WriteString("; widen the pool, raise load caps or review recusals, then match again")
	return &fault.Error{Kind: fault.Conflict, Msg: b.String(), Details: unstaffed}
}

var inputPath = regexp.MustCompile(`^(objects|inspectors)\[(\d+)\]`)

// inputFault explains an input the algorithm refuses (a key or tag in the
// libraries it cannot carry) by the object or inspector concerned.
func inputFault(err error, d inputs) error {
	var ie *match.InputError
	if !errors.As(err, &ie) {
		return err
	}
	who := ie.Field
	if m := inputPath.FindStringSubmatch(ie.Field); m != nil {
		i, _ := strconv.Atoi(m[2])
		switch {
		case m[1] == "objects" && i < len(d.objects):
			who = "object " + d.objects[i].ObjectKey + strings.TrimPrefix(ie.Field, m[0])
		case m[1] == "inspectors" && i < len(d.inspectors):
			who = "inspector " + d.inspectors[i].InspectorKey + strings.TrimPrefix(ie.Field, m[0])
		}
	}
	return fault.New(fault.Conflict, "the match cannot run on these libraries: %s: %s", who, ie.Reason)
}

// storeMatch writes the proofs, the teams and the audit entry of a county
// match, and returns the teams.
func storeMatch(ctx context.Context, tx *sqlx.Tx, in MatchInput, by, digest string, proofs []Proof) (MatchResult, error) {
	res := MatchResult{Teams: map[string][]string{}, Round: 1}
	var objects, inspectors, depts []string
	var positions []int64
	type deptSummary struct {
		Department string `json:"department_code"`
		MatchSeed  string `json:"match_seed"`
		PoolHash   string `json:"pool_hash"`
		Objects    int    `json:"objects"`
		Pool       int    `json:"pool"`
	}
	var summary []deptSummary
	for _, p := range proofs {
		doc, err := json.Marshal(p)
		if err != nil {
			return res, fmt.Errorf("encode the match proof: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO matches (batch_id, county_code, department_code, object_key, round, kind, beacon, inspection_end,
			                     match_seed, pool_hash, request_digest, proof, created_by)
			VALUES ($1, $2, $3, '', 1, 'match', $4, $5, $6, $7, $8, $9, $10)`,
			in.BatchID, in.County, p.DepartmentCode, in.Beacon, in.InspectionEnd.String(), p.MatchSeed, p.PoolHash,
			digest, doc, by); err != nil {
			return res, fmt.Errorf("store the match proof of county %s in batch %s: %w", in.County, in.BatchID, err)
		}
		res.MatchSeed = p.MatchSeed // the same for every department
		for _, a := range p.Assignments {
			res.Teams[a.ObjectKey] = append(res.Teams[a.ObjectKey], a.Inspectors...)
			for pos, key := range a.Inspectors {
				objects = append(objects, a.ObjectKey)
				inspectors = append(inspectors, key)
				depts = append(depts, p.DepartmentCode)
				positions = append(positions, int64(pos))
			}
		}
		summary = append(summary, deptSummary{p.DepartmentCode, p.MatchSeed, p.PoolHash, len(p.Objects), len(p.Inspectors)})
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO match_assignments (batch_id, object_key, inspector_key, round, county_code, department_code, position, assigned_by)
		SELECT $1, o, i, 1, $2, d, p, $3
		FROM unnest($4::text[], $5::text[], $6::text[], $7::int[]) AS u (o, i, d, p)`,
		in.BatchID, in.County, by, pq.Array(objects), pq.Array(inspectors), pq.Array(depts), pq.Array(positions)); err != nil {
		return res, fmt.Errorf("store the teams of county %s in batch %s: %w", in.County, in.BatchID, err)
	}
	if _, err := audit.Append(ctx, tx, audit.Entry{
		Actor: by, Action: "match.create", Entity: "match", EntityID: in.BatchID + "/" + in.County,
		Payload: map[string]any{
			"batch_id": in.BatchID, "county_code": in.County, "round": 1, "beacon": in.Beacon,
			"inspection_end": in.InspectionEnd.String(), "auto": in.Auto,
			"objects": len(res.Teams), "assignments": len(inspectors), "departments": summary,
		},
	}); err != nil {
		return res, err
	}
	return res, nil
}

// storedResult returns the teams a county's match gave (round 1, replaced
// members included: the answer the match gave).
func storedResult(ctx context.Context, q sqlx.QueryerContext, batchID, county string) (MatchResult, error) {
	res := MatchResult{Teams: map[string][]string{}, Round: 1}
	var rows []struct {
		Object    string `db:"object_key"`
		Inspector string `db:"inspector_key"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT object_key, inspector_key FROM match_assignments
		WHERE batch_id = $1 AND county_code = $2 AND round = 1
		ORDER BY object_key, department_code, position`, batchID, county); err != nil {
		return res, fmt.Errorf("read the teams of county %s in batch %s: %w", county, batchID, err)
	}
	for _, r := range rows {
		res.Teams[r.Object] = append(res.Teams[r.Object], r.Inspector)
	}
	if err := sqlx.GetContext(ctx, q, &res.MatchSeed, `
		SELECT match_seed FROM matches WHERE batch_id = $1 AND county_code = $2 AND kind = 'match' LIMIT 1`,
		batchID, county); err != nil {
		return res, fmt.Errorf("read the match seed of county %s in batch %s: %w", county, batchID, err)
	}
	if err := sqlx.SelectContext(ctx, q, &res.SetAside, `
		SELECT object_key FROM match_set_asides WHERE batch_id = $1 AND county_code = $2 ORDER BY object_key`, batchID, county); err != nil {
		return res, fmt.Errorf("read the objects set aside in county %s of batch %s: %w", county, batchID, err)
	}
	return res, nil
}

func setAsideKeys(list []SetAside) []string {
	var keys []string
	for _, s := range list {
		keys = append(keys, s.ObjectKey)
	}
	return keys
}

func (s *Service) inTx(ctx context.Context, f func(*sqlx.Tx) error) error {
	if err := pgtx.Run(ctx, s.db, nil, f); err != nil {
		return fmt.Errorf("matching: %w", err)
	}
	return nil
}
