package audit

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Head is a published head of the chain: row Seq had hash Hash when it was
// published. Whoever keeps a copy can check later that the chain still
// passes through it, which no rewrite of the database alone can fake.
type Head struct {
	Seq         int64     `db:"seq" json:"seq"`
	Hash        string    `db:"hash" json:"hash"`
	PublishedAt time.Time `db:"published_at" json:"published_at"`
	// Reason is daily, archive (BatchID names the batch) or manual.
	Reason  string `db:"reason" json:"reason"`
	BatchID string `db:"batch_id" json:"batch_id,omitempty"`
}

// PublishHead copies the current head into the public list (audit_heads),
// in the caller's transaction when q is one; a daily head that has not
// moved since its last publication is not repeated.
func PublishHead(ctx context.Context, q sqlx.QueryerContext, reason, batchID string) (Head, error) {
	var h Head
	err := sqlx.GetContext(ctx, q, &h, `SELECT seq, hash, published_at, reason, batch_id FROM audit_publish_head($1, $2)`, reason, batchID)
	if err != nil {
		return Head{}, fmt.Errorf("publish the audit head (%s): %w", reason, err)
	}
	return h, nil
}

// Heads lists the published heads, oldest first.
func Heads(ctx context.Context, q sqlx.QueryerContext) ([]Head, error) {
	heads := []Head{}
	if err := sqlx.SelectContext(ctx, q, &heads, `SELECT seq, hash, published_at, reason, batch_id FROM audit_heads ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list published audit heads: %w", err)
	}
	return heads, nil
}

// HeadsHeader is the header row of the CSV rendering of the heads.
var HeadsHeader = []string{"seq", "hash", "published_at", "reason", "batch_id"}

// Row renders h as a CSV row under HeadsHeader.
func (h Head) Row() []string {
	return []string{strconv.FormatInt(h.Seq, 10), h.Hash, h.PublishedAt.UTC().Format(time.RFC3339Nano), h.Reason, h.BatchID}
}

// ParseHeads reads heads as /public/audit/heads serves them: a JSON array,
// a JSON object with "items", or the CSV rendering.
func ParseHeads(b []byte) ([]Head, error) {
	s := strings.TrimSpace(strings.TrimPrefix(string(b), "\ufeff"))
	switch {
	case strings.HasPrefix(s, "["):
		var heads []Head
		if err := json.Unmarshal([]byte(s), &heads); err != nil {
			return nil, fmt.Errorf("the heads are not a JSON list of {seq, hash}: %w", err)
		}
		return checkHeads(heads)
	case strings.HasPrefix(s, "{"):
		var page struct {
			Items []Head `json:"items"`
		}
		if err := json.Unmarshal([]byte(s), &page); err != nil {
			return nil, fmt.Errorf("the heads are not JSON of {items: [{seq, hash}]}: %w", err)
		}
		return checkHeads(page.Items)
	}
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("the heads are neither JSON nor CSV: %w", err)
	}
	if len(rows) == 0 || len(rows[0]) < 2 || rows[0][0] != "seq" || rows[0][1] != "hash" {
		return nil, errors.New("the heads' CSV must start with the header seq,hash")
	}
	var heads []Head
	for i, r := range rows[1:] {
		seq, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil || len(r) < 2 {
			return nil, fmt.Errorf("row %d of the heads: %q is not a row number", i+2, r[0])
		}
		h := Head{Seq: seq, Hash: r[1]}
		if len(r) > 2 {
			h.PublishedAt, _ = time.Parse(time.RFC3339Nano, r[2])
		}
		if len(r) > 4 {
			h.Reason, h.BatchID = r[3], r[4]
		}
		heads = append(heads, h)
	}
	return checkHeads(heads)
}

func checkHeads(heads []Head) ([]Head, error) {
	for _, h := range heads {
		if _, err := Hash(h.Hash, Record{}); err != nil || h.Seq < 0 {
			return nil, fmt.Errorf("head of row %d: hash %q is not 64 hex digits", h.Seq, h.Hash)
		}
	}
	return heads, nil
}

// HeadsReport is the outcome of VerifyHeads.
type HeadsReport struct {
	OK bool `json:"ok"`
	// Checked is how many published heads were compared.
	Checked int `json:"checked"`
	// Problem names the first row (lowest seq) that no longer matches its
	// published head; Since is the last published row before it that still
	// matches (0: none), so the change lies in rows Since+1 … Problem.Seq.
	Problem *Problem `json:"problem,omitempty"`
	Since   int64    `json:"since,omitempty"`
}

func (r HeadsReport) String() string {
	if r.OK {
		return fmt.Sprintf("OK: the chain passes through all %d published heads", r.Checked)
	}
	return fmt.Sprintf("BROKEN at row %d (%s): %s", r.Problem.Seq, r.Problem.Kind, r.Problem.Detail)
}

// VerifyHeads checks that the chain still passes through heads published
// earlier: row Seq exists and has the published hash. A chain re-hashed
// after an edit, or cut at the end with its head moved back, is internally
// consistent (Verify passes) but fails here at the first published row
// after the change.
func VerifyHeads(ctx context.Context, db *sqlx.DB, heads []Head) (HeadsReport, error) {
	sorted := append([]Head(nil), heads...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return HeadsReport{}, fmt.Errorf("begin heads check: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var headSeq int64
	if err := tx.GetContext(ctx, &headSeq, `SELECT seq FROM audit_head`); err != nil {
		return HeadsReport{}, fmt.Errorf("read the audit head: %w", err)
	}
	rep := HeadsReport{OK: true}
	for _, h := range sorted {
		if h.Seq == 0 {
			continue // the empty chain
		}
		rep.Checked++
		var hash string
		err := tx.GetContext(ctx, &hash, `SELECT hash FROM audit_log WHERE seq = $1`, h.Seq)
		published := "published " + h.PublishedAt.UTC().Format(time.RFC3339)
		if h.PublishedAt.IsZero() {
			published = "published earlier"
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			rep.OK, rep.Problem = false, &Problem{Seq: h.Seq, Kind: Missing,
				Detail: fmt.Sprintf("row %d (%s with hash %s) is no longer in the chain, which now ends at row %d: rows were deleted and the head moved back", h.Seq, published, h.Hash, headSeq)}
		case err != nil:
			return HeadsReport{}, fmt.Errorf("read row %d: %w", h.Seq, err)
		case hash != h.Hash:
			rep.OK, rep.Problem = false, &Problem{Seq: h.Seq, Kind: Rewritten,
				Detail: fmt.Sprintf("row %d has hash %s, but %s with hash %s: the chain was rewritten after row %d", h.Seq, hash, published, h.Hash, rep.Since)}
		}
		if !rep.OK {
			return rep, nil
		}
		rep.Since = h.Seq
	}
	rep.Since = 0
	return rep, nil
}
