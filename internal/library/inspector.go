package library

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Inspector is an entry of the inspector directory (执法检查人员名录库): a
// certified officer who can be matched to objects.
type Inspector struct {
	Key                   string        `json:"key"` // employee number
	Name                  string        `json:"name"`
	RegionCode            string        `json:"region_code"`
	Unit                  string        `json:"unit"` // station / unit (所/站)
	CertificateNo         string        `json:"certificate_no"`
	CertificateValidUntil *workday.Date `json:"certificate_valid_until"`
	Tags                  []string      `json:"tags"` // qualifications, expertise
	Status                string        `json:"status"`
	MaxLoad               int           `json:"max_load"`
	RowVersion            int64         `json:"row_version"`
	CreatedAt             time.Time     `json:"created_at"`
	UpdatedAt             time.Time     `json:"updated_at"`
}

// InspectorInput is what a caller writes of an inspector. RegionCode
// accepts a region's code or name; Status accepts the code or the Chinese
// term and defaults to active; MaxLoad defaults to 20 when nil.
type InspectorInput struct {
	Key                   string   `json:"key"`
	Name                  string   `json:"name"`
	RegionCode            string   `json:"region_code"`
	Unit                  string   `json:"unit"`
	CertificateNo         string   `json:"certificate_no"`
	CertificateValidUntil string   `json:"certificate_valid_until"`
	Tags                  []string `json:"tags"`
	Status                string   `json:"status"`
	MaxLoad               *int     `json:"max_load"`
}

const defaultMaxLoad = 20

const inspectorCols = `key, name, region_code, unit, certificate_no, certificate_valid_until, tags, status,
	max_load, row_version, created_at, updated_at`

func scanInspector(row scanner) (Inspector, error) {
	var i Inspector
	err := row.Scan(&i.Key, &i.Name, &i.RegionCode, &i.Unit, &i.CertificateNo, dateScan{&i.CertificateValidUntil},
		pq.Array(&i.Tags), &i.Status, &i.MaxLoad, &i.RowVersion, &i.CreatedAt, &i.UpdatedAt)
	if i.Tags == nil {
		i.Tags = []string{}
	}
	return i, err
}

// inspector is a checked InspectorInput.
type inspector struct {
	Inspector
	regionRef string
}

func (p *problems) inspector(in InspectorInput) inspector {
	var o inspector
	o.Key = p.key("key", in.Key)
	o.Name = p.line("name", in.Name, maxName, true)
	o.regionRef = strings.TrimSpace(in.RegionCode)
	if o.regionRef == "" {
		p.add("region_code", "is required: a region code or name (GET /api/v1/regions lists them)")
	}
	o.Unit = p.line("unit", in.Unit, maxName, false)
	o.CertificateNo = p.line("certificate_no", in.CertificateNo, maxKey, false)
	o.CertificateValidUntil = p.date("certificate_valid_until", in.CertificateValidUntil)
	o.Tags = p.tags("tags", in.Tags)
	o.Status = p.vocab("status", InspectorStatuses, in.Status, "active")
	o.MaxLoad = defaultMaxLoad
	if in.MaxLoad != nil {
		o.MaxLoad = *in.MaxLoad
		if o.MaxLoad < 1 {
			p.add("max_load", "must be at least 1, got %d", o.MaxLoad)
		}
	}
	return o
}

func checkInspector(ctx context.Context, q sqlx.QueryerContext, in InspectorInput) (inspector, error) {
	var p problems
	o := p.inspector(in)
	if o.regionRef != "" {
		code, err := p.resolveRegion(ctx, q, "region_code", o.regionRef)
		if err != nil {
			return o, err
		}
		o.RegionCode = code
	}
	return o, p.err("the inspector is not valid")
}

// CreateInspector adds an inspector to the directory.
func (s *Store) CreateInspector(ctx context.Context, by Actor, in InspectorInput) (Inspector, error) {
	var out Inspector
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		o, err := checkInspector(ctx, tx, in)
		if err != nil {
			return err
		}
		out, err = scanInspector(tx.QueryRowContext(ctx, `INSERT INTO inspectors
			(key, name, region_code, unit, certificate_no, certificate_valid_until, tags, status, max_load)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+inspectorCols,
			o.Key, o.Name, o.RegionCode, o.Unit, o.CertificateNo, dateArg(o.CertificateValidUntil),
			pq.Array(o.Tags), o.Status, o.MaxLoad))
		if isUnique(err, "inspectors_key_key") {
			return fault.New(fault.Conflict, "an inspector with key %s already exists", o.Key)
		}
		return err
	})
	return out, err
}

// CreateInspectors adds many inspectors at once, all or none, like
// CreateObjects.
func (s *Store) CreateInspectors(ctx context.Context, by Actor, ins []InspectorInput) ([]Inspector, error) {
	if len(ins) == 0 {
		return []Inspector{}, nil
	}
	var out []Inspector
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		var p problems
		list := make([]inspector, len(ins))
		var refs []string
		for i, in := range ins {
			p.row = i + 1
			list[i] = p.inspector(in)
			refs = append(refs, list[i].regionRef)
		}
		codes, err := regionCodes(ctx, tx, refs)
		if err != nil {
			return err
		}
		firstRow := map[string]int{}
		var keys []string
		for i := range list {
			p.row = i + 1
			o := &list[i]
			if o.regionRef != "" {
				if c, ok := codes[o.regionRef]; ok {
					o.RegionCode = c
				} else {
					p.add("region_code", "no region has the code or name %q (GET /api/v1/regions lists them)", o.regionRef)
				}
			}
			if o.Key == "" {
				continue
			}
			if r, ok := firstRow[o.Key]; ok {
				p.add("key", "%s is also the key of row %d", o.Key, r)
				continue
			}
			firstRow[o.Key] = i + 1
			keys = append(keys, o.Key)
		}
		var existing []string
		if err := tx.SelectContext(ctx, &existing, `SELECT key FROM inspectors WHERE key = ANY($1)`, pq.Array(keys)); err != nil {
			return fmt.Errorf("library: look up keys: %w", err)
		}
		for _, k := range existing {
			p.row = firstRow[k]
			p.add("key", "an inspector with key %s already exists", k)
		}
		slices.SortStableFunc(p.list, func(a, b fault.Problem) int { return a.Row - b.Row })
		if err := p.err(fmt.Sprintf("%d problems in the inspectors; nothing was saved", len(p.list))); err != nil {
			return err
		}
		rows := make([]map[string]any, len(list))
		for i, o := range list {
			rows[i] = map[string]any{
				"key": o.Key, "name": o.Name, "region_code": o.RegionCode, "unit": o.Unit,
				"certificate_no": o.CertificateNo, "certificate_valid_until": dateArg(o.CertificateValidUntil),
				"tags": o.Tags, "status": o.Status, "max_load": o.MaxLoad,
			}
		}
		doc, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		r, err := tx.QueryContext(ctx, `INSERT INTO inspectors
			(key, name, region_code, unit, certificate_no, certificate_valid_until, tags, status, max_load)
			SELECT key, name, region_code, unit, certificate_no, certificate_valid_until, tags, status, max_load
			FROM jsonb_to_recordset($1::jsonb) AS x(key text, name text, region_code text, unit text,
				certificate_no text, certificate_valid_until date, tags text[], status text, max_load int)
			RETURNING `+inspectorCols, doc)
		if err != nil {
			return err
		}
		defer r.Close()
		byKey := make(map[string]Inspector, len(list))
		for r.Next() {
			o, err := scanInspector(r)
			if err != nil {
				return err
			}
			byKey[o.Key] = o
		}
		if err := r.Err(); err != nil {
			return err
		}
		out = make([]Inspector, len(list))
		for i, o := range list {
			out[i] = byKey[o.Key]
		}
		return nil
	})
	return out, err
}

// Inspector returns the inspector with key.
func (s *Store) Inspector(ctx context.Context, key string) (Inspector, error) {
	if unstorable(key) {
		return Inspector{}, fault.New(fault.NotFound, "no inspector has the key %q", key)
	}
	i, err := scanInspector(s.db.QueryRowContext(ctx, `SELECT `+inspectorCols+` FROM inspectors WHERE key = $1`, key))
	return i, notFound(err, "no inspector has the key %q", key)
}

func lockInspector(ctx context.Context, tx *sqlx.Tx, key string, expected int64) (Inspector, error) {
	if unstorable(key) {
		return Inspector{}, fault.New(fault.NotFound, "no inspector has the key %q", key)
	}
	i, err := scanInspector(tx.QueryRowContext(ctx, `SELECT `+inspectorCols+` FROM inspectors WHERE key = $1 FOR UPDATE`, key))
	if err != nil {
		return i, notFound(err, "no inspector has the key %q", key)
	}
	if expected != 0 && i.RowVersion != expected {
		return i, stale("inspector", key, expected, i.RowVersion)
	}
	return i, nil
}

// UpdateInspector replaces the writable fields of the inspector with key,
// which must still be at version expected; the key cannot change. Setting
// status to on_leave or retired takes the inspector out of matching.
func (s *Store) UpdateInspector(ctx context.Context, by Actor, key string, expected int64, in InspectorInput) (Inspector, error) {
	var out Inspector
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		cur, err := lockInspector(ctx, tx, key, expected)
		if err != nil {
			return err
		}
		if strings.TrimSpace(in.Key) == "" {
			in.Key = key
		}
		o, err := checkInspector(ctx, tx, in)
		if err != nil {
			return err
		}
		if o.Key != key {
			return fault.Field("key", "cannot be changed (from %s to %s); create a new inspector instead", key, o.Key)
		}
		if cur.Name == o.Name && cur.RegionCode == o.RegionCode && cur.Unit == o.Unit &&
			cur.CertificateNo == o.CertificateNo && sameDate(cur.CertificateValidUntil, o.CertificateValidUntil) &&
			slices.Equal(cur.Tags, o.Tags) && cur.Status == o.Status && cur.MaxLoad == o.MaxLoad {
			out = cur
			return nil
		}
		out, err = scanInspector(tx.QueryRowContext(ctx, `UPDATE inspectors SET name = $2, region_code = $3, unit = $4,
			certificate_no = $5, certificate_valid_until = $6, tags = $7, status = $8, max_load = $9,
			row_version = row_version + 1, updated_at = now() WHERE key = $1 RETURNING `+inspectorCols,
			key, o.Name, o.RegionCode, o.Unit, o.CertificateNo, dateArg(o.CertificateValidUntil),
			pq.Array(o.Tags), o.Status, o.MaxLoad))
		return err
	})
	return out, err
}

// DeactivateInspector takes an active inspector out of matching with
// status retired (the default when status is empty) or on_leave. expected,
// if not 0, is the version the caller saw.
func (s *Store) DeactivateInspector(ctx context.Context, by Actor, key, status string, expected int64) (Inspector, error) {
	var out Inspector
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		var p problems
		st := p.vocab("status", InspectorStatuses, status, "retired")
		if st == "active" {
			p.add("status", "must be retired or on_leave")
		}
		if err := p.err("the status is not valid"); err != nil {
			return err
		}
		cur, err := lockInspector(ctx, tx, key, expected)
		if err != nil {
			return err
		}
		if cur.Status != "active" {
			return fault.New(fault.Conflict, "inspector %s is already inactive (%s); update it to change the status", key, cur.Status)
		}
		out, err = scanInspector(tx.QueryRowContext(ctx, `UPDATE inspectors SET status = $2, row_version = row_version + 1,
			updated_at = now() WHERE key = $1 RETURNING `+inspectorCols, key, st))
		return err
	})
	return out, err
}

// Inspectors lists the inspectors that match f (Kind, Risk and Credit must
// be empty) in key order, a page at a time.
func (s *Store) Inspectors(ctx context.Context, f Filter) (list []Inspector, next string, err error) {
	where, a, err := s.filterWhere(ctx, f, false)
	if err != nil {
		return nil, "", err
	}
	limit := clampLimit(f.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+inspectorCols+` FROM inspectors WHERE `+where+
		` ORDER BY key LIMIT `+a.add(limit+1), a...)
	if err != nil {
		return nil, "", readErr(err, "list inspectors")
	}
	defer rows.Close()
	list = []Inspector{}
	for rows.Next() {
		i, err := scanInspector(rows)
		if err != nil {
			return nil, "", readErr(err, "list inspectors")
		}
		list = append(list, i)
	}
	if err := rows.Err(); err != nil {
		return nil, "", readErr(err, "list inspectors")
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].Key
	}
	return list, next, nil
}

// AssignDepartment makes an inspector one of a department's own (处室):
// a joint check (联合检查) matches each department over its own inspectors.
// It reports whether the inspector changed; the change is recorded.
func (s *Store) AssignDepartment(ctx context.Context, by Actor, inspectorKey, department string) (bool, error) {
	var changed bool
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE inspectors SET department_code = $2, row_version = row_version + 1, updated_at = now()
			WHERE key = $1 AND department_code IS DISTINCT FROM $2`, inspectorKey, department)
		if err != nil {
			return fmt.Errorf("assign inspector %s to department %s: %w", inspectorKey, department, err)
		}
		n, _ := res.RowsAffected()
		changed = n > 0
		if n == 0 {
			var exists bool
			if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM inspectors WHERE key = $1)`, inspectorKey); err != nil {
				return err
			}
			if !exists {
				return fault.New(fault.NotFound, "there is no inspector %s", inspectorKey)
			}
		}
		return nil
	})
	return changed, err
}
