package staffing

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/match"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// maxReason is the longest reason accepted, in characters.
const maxReason = 500

// Replace replaces inspector in.InspectorKey on the team of object
// in.ObjectKey (DRAW-SPEC §2, replacement): the object's round r+1 with the
// seed of that round, over the department's pool of today (certificates
// valid through the inspection end of the county's match, loads of today),
// excluding the current team. The replaced assignment is kept, marked with
// the reason, and nothing else changes: results already entered stay. The
// proof is stored as a [KindReplacement] proof, with an audit entry, in the
// same transaction.
//
// Repeating a replacement that was made (same inspector, reason and
// caller) returns it again. An inspector not on the object's current team,
// an object not matched, a closed task and a batch no longer in progress
// are Conflicts; nobody eligible and available is a Conflict whose Details
// are one [Unstaffed].
func (s *Service) Replace(ctx context.Context, in ReplaceInput) (ReplaceResult, error) {
	reason := strings.TrimSpace(in.Reason)
	var problems []fault.Problem
	for _, f := range []struct{ name, value string }{
		{"batch_id", in.BatchID}, {"object_key", in.ObjectKey}, {"inspector_key", in.InspectorKey}, {"reason", reason},
	} {
		if f.value == "" {
			problems = append(problems, fault.Problem{Field: f.name, Message: "is required"})
		}
	}
	if n := utf8.RuneCountInString(reason); n > maxReason || !utf8.ValidString(reason) {
		problems = append(problems, fault.Problem{Field: "reason", Message: fmt.Sprintf("must be valid text of at most %d characters", maxReason)})
	}
	if err := fault.Invalids("the replacement request is incomplete", problems); err != nil {
		return ReplaceResult{}, err
	}
	by := in.By
	if by == "" {
		by = "system"
	}

	var res ReplaceResult
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		st, err := loadReplacement(ctx, tx, in)
		if err != nil || st == nil {
			if err == nil {
				res, err = s.notOnTeam(ctx, tx, in, reason, by)
			}
			return err
		}
		proof, err := decideReplacement(*st, in, reason)
		if err != nil {
			return err
		}
		res, err = storeReplacement(ctx, tx, *st, proof, in, by)
		return err
	})
	if err != nil {
		return ReplaceResult{}, err
	}
	return res, nil
}

// A replacement is what deciding a replacement needs, read in its
// transaction with the county's matching locked.
type replacement struct {
	county, department string
	position           int // the replaced inspector's seat on the team
	stage              string
	drawSeed           [32]byte
	beacon             string
	end                workday.Date
	round              int
	dept               *inputs  // the department's inputs, with the one object
	team               []string // its current team in that department
	earlier            []string // inspectors replaced on the object before
}

// loadReplacement reads the replacement's state; nil (and no error) when
// the inspector is not on the object's current team.
func loadReplacement(ctx context.Context, tx *sqlx.Tx, in ReplaceInput) (*replacement, error) {
	var county sql.NullString
	err := tx.GetContext(ctx, &county, `SELECT county_code FROM batch_objects WHERE batch_id = $1 AND object_key = $2`,
		in.BatchID, in.ObjectKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "object %s is not on the drawn list of batch %s", in.ObjectKey, in.BatchID)
	}
	if err != nil {
		return nil, fmt.Errorf("read object %s of batch %s: %w", in.ObjectKey, in.BatchID, err)
	}
	if !county.Valid {
		return nil, fault.New(fault.Conflict, "object %s of batch %s is not assigned to a county yet", in.ObjectKey, in.BatchID)
	}
	if err := lockCounty(ctx, tx, in.BatchID, county.String); err != nil {
		return nil, err
	}
	st := replacement{county: county.String}
	var seat struct {
		Department string `db:"department_code"`
		Position   int    `db:"position"`
	}
	err = tx.GetContext(ctx, &seat, `
		SELECT department_code, position FROM match_assignments
		WHERE batch_id = $1 AND object_key = $2 AND inspector_key = $3 AND replaced_at IS NULL`,
		in.BatchID, in.ObjectKey, in.InspectorKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the team of object %s in batch %s: %w", in.ObjectKey, in.BatchID, err)
	}
	st.department, st.position = seat.Department, seat.Position
	if st.drawSeed, err = readBatch(ctx, tx, in.BatchID); err != nil {
		return nil, err
	}
	err = tx.GetContext(ctx, &st.stage, `SELECT stage FROM tasks WHERE batch_id = $1 AND object_key = $2`, in.BatchID, in.ObjectKey)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read the task of object %s in batch %s: %w", in.ObjectKey, in.BatchID, err)
	}
	if st.stage == "closed" {
		// Nothing else is read for a team that can no longer change.
		return &st, nil
	}
	var m struct {
		Beacon string `db:"beacon"`
		End    string `db:"inspection_end"`
	}
	if err := tx.GetContext(ctx, &m, `
		SELECT beacon, to_char(inspection_end, 'YYYY-MM-DD') AS inspection_end FROM matches
		WHERE batch_id = $1 AND county_code = $2 AND department_code = $3 AND kind = 'match'`,
		in.BatchID, st.county, st.department); err != nil {
		return nil, fmt.Errorf("read the match of county %s in batch %s: %w", st.county, in.BatchID, err)
	}
	st.beacon = m.Beacon
	if st.end, err = workday.ParseDate(m.End); err != nil {
		return nil, err
	}
	if err := tx.GetContext(ctx, &st.round, `
		SELECT max(round) + 1 FROM match_assignments WHERE batch_id = $1 AND object_key = $2`,
		in.BatchID, in.ObjectKey); err != nil {
		return nil, fmt.Errorf("read the rounds of object %s in batch %s: %w", in.ObjectKey, in.BatchID, err)
	}
	p, err := loadPlan(ctx, tx, in.BatchID)
	if err != nil {
		return nil, err
	}
	objs, err := loadObjects(ctx, tx, in.BatchID, st.county, in.ObjectKey)
	if err != nil {
		return nil, err
	}
	pool, err := loadPool(ctx, tx, st.county, st.end)
	if err != nil {
		return nil, err
	}
	depts, err := p.build(objs, pool)
	if err != nil {
		return nil, err
	}
	for i := range depts {
		if depts[i].department == st.department {
			st.dept = &depts[i]
		}
	}
	if err := tx.SelectContext(ctx, &st.team, `
		SELECT inspector_key FROM match_assignments
		WHERE batch_id = $1 AND object_key = $2 AND department_code = $3 AND replaced_at IS NULL ORDER BY position`,
		in.BatchID, in.ObjectKey, st.department); err != nil {
		return nil, fmt.Errorf("read the team of object %s in batch %s: %w", in.ObjectKey, in.BatchID, err)
	}
	if err := tx.SelectContext(ctx, &st.earlier, `
		SELECT DISTINCT inspector_key FROM match_assignments
		WHERE batch_id = $1 AND object_key = $2 AND replaced_at IS NOT NULL ORDER BY inspector_key`,
		in.BatchID, in.ObjectKey); err != nil {
		return nil, fmt.Errorf("read earlier replacements of object %s in batch %s: %w", in.ObjectKey, in.BatchID, err)
	}
	return &st, nil
}

// decideReplacement draws the replacement (DRAW-SPEC §2, replacement) and
// returns its proof, or why there is none: a closed task, or nobody
// eligible and available. It reads nothing but st.
func decideReplacement(st replacement, in ReplaceInput, reason string) (Proof, error) {
	if st.stage == "closed" {
		return Proof{}, fault.New(fault.Conflict, "the task of object %s in batch %s is closed; its team can no longer change", in.ObjectKey, in.BatchID)
	}
	if st.dept == nil || len(st.dept.objects) != 1 {
		return Proof{}, fmt.Errorf("object %s of batch %s has no team requirements for department %q", in.ObjectKey, in.BatchID, st.department)
	}
	seed := match.Seed(st.drawSeed, st.county, st.round, st.beacon)
	object := st.dept.objects[0]
	// Whoever was replaced on this object before (sick, recused late) does
	// not come back in a later round; the proof's object lists them as
	// recused, so the replacement stays recomputable.
	object.Recused = slices.Clone(object.Recused)
	for _, k := range st.earlier {
		if !slices.Contains(object.Recused, k) {
			object.Recused = append(object.Recused, k)
		}
	}
	got, err := match.Replace(seed, object, st.team, in.InspectorKey, st.dept.inspectors)
	var inf *match.InfeasibleError
	switch {
	case errors.As(err, &inf):
		o := inf.Objects[0]
		return Proof{}, &fault.Error{Kind: fault.Conflict,
			Msg: fmt.Sprintf("nobody can replace %s on object %s of batch %s: %d eligible inspectors outside the team, %d of them below their load cap",
				in.InspectorKey, in.ObjectKey, in.BatchID, o.Eligible, o.Available),
			Details: []Unstaffed{{ObjectKey: o.ObjectKey, Department: st.department, Eligible: o.Eligible, Available: o.Available}}}
	case err != nil:
		return Proof{}, inputFault(err, *st.dept)
	}
	return Proof{
		Kind: KindReplacement, BatchID: in.BatchID, DepartmentCode: st.department,
		Proof: match.Proof{
			Algorithm: match.Algorithm, DrawSeed: hex.EncodeToString(st.drawSeed[:]), CountyCode: st.county,
			Round: st.round, Beacon: st.beacon, MatchSeed: hex.EncodeToString(seed[:]),
			PoolHash: match.PoolHash(st.dept.inspectors), Objects: []match.Object{nonNilObject(object)},
			Inspectors: nonNilInspectors(st.dept.inspectors),
		},
		Team: st.team, Replaced: in.InspectorKey, Replacement: got, Reason: reason,
	}, nil
}

// storeReplacement writes a decided replacement: the replaced seat marked,
// the new one assigned, the proof and its audit entry.
func storeReplacement(ctx context.Context, tx *sqlx.Tx, st replacement, proof Proof, in ReplaceInput, by string) (ReplaceResult, error) {
	doc, err := json.Marshal(proof)
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("encode the replacement proof: %w", err)
	}
	got, reason := proof.Replacement, proof.Reason
	if _, err := tx.ExecContext(ctx, `
		UPDATE match_assignments SET replaced_at = now(), replaced_reason = $4, replaced_by = $5, replaced_in_round = $6
		WHERE batch_id = $1 AND object_key = $2 AND inspector_key = $3 AND replaced_at IS NULL`,
		in.BatchID, in.ObjectKey, in.InspectorKey, reason, by, st.round); err != nil {
		return ReplaceResult{}, fmt.Errorf("mark %s replaced on object %s of batch %s: %w", in.InspectorKey, in.ObjectKey, in.BatchID, err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO match_assignments (batch_id, object_key, inspector_key, round, county_code, department_code, position, assigned_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		in.BatchID, in.ObjectKey, got, st.round, st.county, st.department, st.position, by); err != nil {
		return ReplaceResult{}, fmt.Errorf("assign %s to object %s of batch %s: %w", got, in.ObjectKey, in.BatchID, err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO matches (batch_id, county_code, department_code, object_key, round, kind, beacon, inspection_end,
		                     match_seed, pool_hash, request_digest, proof, created_by)
		VALUES ($1, $2, $3, $4, $5, 'replacement', $6, $7, $8, $9, $10, $11, $12)`,
		in.BatchID, st.county, st.department, in.ObjectKey, st.round, st.beacon, st.end.String(),
		proof.MatchSeed, proof.PoolHash, replaceDigest(in, reason, by), doc, by); err != nil {
		return ReplaceResult{}, fmt.Errorf("store the replacement proof of object %s in batch %s: %w", in.ObjectKey, in.BatchID, err)
	}
	if _, err := audit.Append(ctx, tx, audit.Entry{
		Actor: by, Action: "match.replace", Entity: "match", EntityID: in.BatchID + "/" + st.county,
		Payload: map[string]any{
			"batch_id": in.BatchID, "county_code": st.county, "department_code": st.department,
			"object_key": in.ObjectKey, "round": st.round, "replaced": in.InspectorKey, "replacement": got,
			"reason": reason, "match_seed": proof.MatchSeed, "pool_hash": proof.PoolHash,
		},
	}); err != nil {
		return ReplaceResult{}, err
	}
	res := ReplaceResult{Replacement: got, Replaced: in.InspectorKey, Round: st.round,
		MatchSeed: proof.MatchSeed, Department: st.department}
	res.Team, err = currentTeam(ctx, tx, in.BatchID, in.ObjectKey)
	return res, err
}

// notOnTeam answers a replacement of an inspector who is not on the
// object's current team: the same replacement made before (a retry) is
// returned; anything else is a Conflict.
func (s *Service) notOnTeam(ctx context.Context, tx *sqlx.Tx, in ReplaceInput, reason, by string) (ReplaceResult, error) {
	var prior []struct {
		Department string `db:"department_code"`
		Position   int    `db:"position"`
		Reason     string `db:"replaced_reason"`
		By         string `db:"replaced_by"`
		Round      int    `db:"replaced_in_round"`
	}
	if err := tx.SelectContext(ctx, &prior, `
		SELECT department_code, position, replaced_reason, replaced_by, replaced_in_round FROM match_assignments
		WHERE batch_id = $1 AND object_key = $2 AND inspector_key = $3 AND replaced_at IS NOT NULL
		ORDER BY replaced_in_round DESC LIMIT 1`, in.BatchID, in.ObjectKey, in.InspectorKey); err != nil {
		return ReplaceResult{}, fmt.Errorf("read the replacements of object %s in batch %s: %w", in.ObjectKey, in.BatchID, err)
	}
	team, err := currentTeam(ctx, tx, in.BatchID, in.ObjectKey)
	if err != nil {
		return ReplaceResult{}, err
	}
	if len(prior) == 1 && prior[0].Reason == reason && prior[0].By == by {
		p := prior[0]
		res := ReplaceResult{Replaced: in.InspectorKey, Round: p.Round, Department: p.Department, Team: team}
		if err := tx.GetContext(ctx, &res.Replacement, `
			SELECT inspector_key FROM match_assignments
			WHERE batch_id = $1 AND object_key = $2 AND round = $3 AND department_code = $4 AND position = $5`,
			in.BatchID, in.ObjectKey, p.Round, p.Department, p.Position); err != nil {
			return res, fmt.Errorf("read the replacement of %s on object %s in batch %s: %w", in.InspectorKey, in.ObjectKey, in.BatchID, err)
		}
		if err := tx.GetContext(ctx, &res.MatchSeed, `
			SELECT match_seed FROM matches WHERE batch_id = $1 AND object_key = $2 AND round = $3 AND department_code = $4`,
			in.BatchID, in.ObjectKey, p.Round, p.Department); err != nil {
			return res, fmt.Errorf("read the replacement proof of object %s in batch %s: %w", in.ObjectKey, in.BatchID, err)
		}
		return res, nil
	}
	if len(team) == 0 {
		return ReplaceResult{}, fault.New(fault.Conflict, "object %s of batch %s has not been matched yet", in.ObjectKey, in.BatchID)
	}
	return ReplaceResult{}, fault.New(fault.Conflict, "inspector %s is not on the team of object %s in batch %s (%s)",
		in.InspectorKey, in.ObjectKey, in.BatchID, strings.Join(team, ", "))
}

// currentTeam returns the object's team now, in department order.
func currentTeam(ctx context.Context, q sqlx.QueryerContext, batchID, objectKey string) ([]string, error) {
	team := []string{}
	if err := sqlx.SelectContext(ctx, q, &team, `
		SELECT inspector_key FROM match_assignments
		WHERE batch_id = $1 AND object_key = $2 AND replaced_at IS NULL ORDER BY department_code, position`,
		batchID, objectKey); err != nil {
		return nil, fmt.Errorf("read the team of object %s in batch %s: %w", objectKey, batchID, err)
	}
	return team, nil
}

func replaceDigest(in ReplaceInput, reason, by string) string {
	h := sha256.New()
	for _, f := range []string{in.BatchID, in.ObjectKey, in.InspectorKey, reason, by} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// nonNilObject and nonNilInspectors write absent lists as [] in proofs,
// as match.NewProof does.
func nonNilObject(o match.Object) match.Object {
	o.RequiredTags = append([]string{}, o.RequiredTags...)
	o.Recused = append([]string{}, o.Recused...)
	return o
}

func nonNilInspectors(pool []match.Inspector) []match.Inspector {
	out := make([]match.Inspector, len(pool))
	for i, in := range pool {
		in.Tags = append([]string{}, in.Tags...)
		out[i] = in
	}
	return out
}
