package library

import (
	"bytes"
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

// Object is an entry of the object directory (检查对象名录库): what a draw
// can select.
type Object struct {
	// Key is the public identifier: an enterprise's unified social credit
	// code, a project or other code otherwise.
	Key         string   `json:"key"`
	Kind        string   `json:"kind"`
	Name        string   `json:"name"`
	RegionCode  string   `json:"region_code"`
	Station     string   `json:"station"` // 所/站, for cross-station recusal
	Address     string   `json:"address"`
	Tags        []string `json:"tags"`
	RiskLevel   string   `json:"risk_level"`
	CreditClass string   `json:"credit_class"`
	Status      string   `json:"status"`
	// LastInspectedAt is the date of the last inspection, if any.
	LastInspectedAt *workday.Date   `json:"last_inspected_at"`
	Attributes      json.RawMessage `json:"attributes"`
	// RowVersion grows by one on every change; the API's ETag.
	RowVersion int64     `json:"row_version"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ObjectInput is what a caller writes of an object. Enumerations accept the
// canonical code or the Chinese term; RegionCode accepts a region's code or
// name; empty RiskLevel, CreditClass and Status default to normal, B and
// active; LastInspectedAt is YYYY-MM-DD or empty.
type ObjectInput struct {
	Key             string          `json:"key"`
	Kind            string          `json:"kind"`
	Name            string          `json:"name"`
	RegionCode      string          `json:"region_code"`
	Station         string          `json:"station"`
	Address         string          `json:"address"`
	Tags            []string        `json:"tags"`
	RiskLevel       string          `json:"risk_level"`
	CreditClass     string          `json:"credit_class"`
	Status          string          `json:"status"`
	LastInspectedAt string          `json:"last_inspected_at"`
	Attributes      json.RawMessage `json:"attributes"`
}

// Filter selects objects or inspectors. Every set field must match; values
// of enumerations accept the code or the Chinese term. Field names in
// errors are the API's query parameters.
type Filter struct {
	Region string   // code or name; the region and the regions below it
	Kind   string   // objects only
	Tags   []string // all must be present
	Risk   string   // objects only
	Credit string   // objects only
	Status string
	Q      string // substring of the name or the key, case-insensitive
	After  string // key of the last item of the previous page
	Limit  int    // 1..1000, default 50
}

const objectCols = `key, kind, name, region_code, station, address, tags, risk_level, credit_class,
	status, last_inspected_at, attributes, row_version, created_at, updated_at`

func scanObject(row scanner) (Object, error) {
	var o Object
	var attrs []byte
	err := row.Scan(&o.Key, &o.Kind, &o.Name, &o.RegionCode, &o.Station, &o.Address, pq.Array(&o.Tags),
		&o.RiskLevel, &o.CreditClass, &o.Status, dateScan{&o.LastInspectedAt}, &attrs,
		&o.RowVersion, &o.CreatedAt, &o.UpdatedAt)
	if o.Tags == nil {
		o.Tags = []string{}
	}
	o.Attributes = attrs
	return o, err
}

// object is a checked ObjectInput, ready to be written.
type object struct {
	ObjectInput
	lastInspected *workday.Date
	regionRef     string // as given, resolved later
}

// check validates in, gathering problems in p, and returns the cleaned
// values; the region is resolved by the caller.
func (p *problems) object(in ObjectInput) object {
	var o object
	o.Kind = p.vocab("kind", ObjectKinds, in.Kind, "")
	o.Key = p.objectKey("key", o.Kind, in.Key)
	o.Name = p.line("name", in.Name, maxName, true)
	o.regionRef = strings.TrimSpace(in.RegionCode)
	if o.regionRef == "" {
		p.add("region_code", "is required: a region code or name (GET /api/v1/regions lists them)")
	}
	o.Station = p.line("station", in.Station, maxName, false)
	o.Address = p.line("address", in.Address, 500, false)
	o.Tags = p.tags("tags", in.Tags)
	o.RiskLevel = p.vocab("risk_level", RiskLevels, in.RiskLevel, "normal")
	o.CreditClass = p.vocab("credit_class", CreditClasses, in.CreditClass, "B")
	o.Status = p.vocab("status", ObjectStatuses, in.Status, "active")
	o.lastInspected = p.date("last_inspected_at", in.LastInspectedAt)
	o.Attributes = p.attributes("attributes", in.Attributes)
	return o
}

// checkObject validates one object and resolves its region.
func checkObject(ctx context.Context, q sqlx.QueryerContext, in ObjectInput) (object, error) {
	var p problems
	o := p.object(in)
	if o.regionRef != "" {
		code, err := p.resolveRegion(ctx, q, "region_code", o.regionRef)
		if err != nil {
			return o, err
		}
		o.RegionCode = code
	}
	return o, p.err("the object is not valid")
}

// CreateObject adds an object to the directory.
func (s *Store) CreateObject(ctx context.Context, by Actor, in ObjectInput) (Object, error) {
	var out Object
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		o, err := checkObject(ctx, tx, in)
		if err != nil {
			return err
		}
		out, err = scanObject(tx.QueryRowContext(ctx, `INSERT INTO objects
			(key, kind, name, region_code, station, address, tags, risk_level, credit_class, status, last_inspected_at, attributes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING `+objectCols,
			o.Key, o.Kind, o.Name, o.RegionCode, o.Station, o.Address, pq.Array(o.Tags), o.RiskLevel,
			o.CreditClass, o.Status, dateArg(o.lastInspected), []byte(o.Attributes)))
		if isUnique(err, "objects_key_key") {
			return fault.New(fault.Conflict, "an object with key %s already exists", o.Key)
		}
		return err
	})
	return out, err
}

// CreateObjects adds many objects at once, all or none: if any row is
// wrong, nothing is written and the error lists every problem with its row
// (1-based, in the order of ins).
func (s *Store) CreateObjects(ctx context.Context, by Actor, ins []ObjectInput) ([]Object, error) {
	if len(ins) == 0 {
		return []Object{}, nil
	}
	var out []Object
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		var p problems
		objs := make([]object, len(ins))
		var refs []string
		for i, in := range ins {
			p.row = i + 1
			objs[i] = p.object(in)
			refs = append(refs, objs[i].regionRef)
		}
		codes, err := regionCodes(ctx, tx, refs)
		if err != nil {
			return err
		}
		firstRow := map[string]int{}
		var keys []string
		for i := range objs {
			p.row = i + 1
			o := &objs[i]
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
		if err := tx.SelectContext(ctx, &existing, `SELECT key FROM objects WHERE key = ANY($1)`, pq.Array(keys)); err != nil {
			return fmt.Errorf("library: look up keys: %w", err)
		}
		for _, k := range existing {
			p.row = firstRow[k]
			p.add("key", "an object with key %s already exists", k)
		}
		slices.SortStableFunc(p.list, func(a, b fault.Problem) int { return a.Row - b.Row })
		if err := p.err(fmt.Sprintf("%d problems in the objects; nothing was saved", len(p.list))); err != nil {
			return err
		}
		// One statement for the whole batch: one change-trigger run and
		// one round trip, however many rows.
		rows := make([]map[string]any, len(objs))
		for i, o := range objs {
			rows[i] = map[string]any{
				"key": o.Key, "kind": o.Kind, "name": o.Name, "region_code": o.RegionCode, "station": o.Station,
				"address": o.Address, "tags": o.Tags, "risk_level": o.RiskLevel, "credit_class": o.CreditClass,
				"status": o.Status, "last_inspected_at": dateArg(o.lastInspected), "attributes": o.Attributes,
			}
		}
		doc, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		r, err := tx.QueryContext(ctx, `INSERT INTO objects
			(key, kind, name, region_code, station, address, tags, risk_level, credit_class, status, last_inspected_at, attributes)
			SELECT key, kind, name, region_code, station, address, tags, risk_level, credit_class, status, last_inspected_at, attributes
			FROM jsonb_to_recordset($1::jsonb) AS x(key text, kind text, name text, region_code text, station text,
				address text, tags text[], risk_level text, credit_class text, status text, last_inspected_at date, attributes jsonb)
			RETURNING `+objectCols, doc)
		if err != nil {
			return err
		}
		defer r.Close()
		byKey := make(map[string]Object, len(objs))
		for r.Next() {
			o, err := scanObject(r)
			if err != nil {
				return err
			}
			byKey[o.Key] = o
		}
		if err := r.Err(); err != nil {
			return err
		}
		out = make([]Object, len(objs))
		for i, o := range objs {
			out[i] = byKey[o.Key]
		}
		return nil
	})
	return out, err
}

// Object returns the object with key.
func (s *Store) Object(ctx context.Context, key string) (Object, error) {
	if unstorable(key) {
		return Object{}, fault.New(fault.NotFound, "no object has the key %q", key)
	}
	o, err := scanObject(s.db.QueryRowContext(ctx, `SELECT `+objectCols+` FROM objects WHERE key = $1`, key))
	return o, notFound(err, "no object has the key %q", key)
}

// lockObject reads the object for update and checks that it is at version
// expected (0: any version).
func lockObject(ctx context.Context, tx *sqlx.Tx, key string, expected int64) (Object, error) {
	if unstorable(key) {
		return Object{}, fault.New(fault.NotFound, "no object has the key %q", key)
	}
	o, err := scanObject(tx.QueryRowContext(ctx, `SELECT `+objectCols+` FROM objects WHERE key = $1 FOR UPDATE`, key))
	if err != nil {
		return o, notFound(err, "no object has the key %q", key)
	}
	if expected != 0 && o.RowVersion != expected {
		return o, stale("object", key, expected, o.RowVersion)
	}
	return o, nil
}

func stale(what, key string, expected, current int64) error {
	return fault.New(fault.PreconditionFailed,
		"%s %s was changed by someone else: you edited version %d, it is now at version %d; get it again, reapply your edit and send the new ETag",
		what, key, expected, current)
}

// UpdateObject replaces the writable fields of the object with key, which
// must still be at version expected. The key itself cannot change: if
// in.Key is set it must name the same object. An update that changes
// nothing returns the object as it is, at the same version.
func (s *Store) UpdateObject(ctx context.Context, by Actor, key string, expected int64, in ObjectInput) (Object, error) {
	var out Object
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		cur, err := lockObject(ctx, tx, key, expected)
		if err != nil {
			return err
		}
		if strings.TrimSpace(in.Key) == "" {
			in.Key = key
		}
		o, err := checkObject(ctx, tx, in)
		if err != nil {
			return err
		}
		if o.Key != key {
			return fault.Field("key", "cannot be changed (from %s to %s); create a new object instead", key, o.Key)
		}
		if sameObject(cur, o) {
			out = cur
			return nil
		}
		out, err = scanObject(tx.QueryRowContext(ctx, `UPDATE objects SET kind = $2, name = $3, region_code = $4,
			station = $5, address = $6, tags = $7, risk_level = $8, credit_class = $9, status = $10,
			last_inspected_at = $11, attributes = $12, row_version = row_version + 1, updated_at = now()
			WHERE key = $1 RETURNING `+objectCols,
			key, o.Kind, o.Name, o.RegionCode, o.Station, o.Address, pq.Array(o.Tags), o.RiskLevel,
			o.CreditClass, o.Status, dateArg(o.lastInspected), []byte(o.Attributes)))
		return err
	})
	return out, err
}

func sameObject(cur Object, o object) bool {
	return cur.Kind == o.Kind && cur.Name == o.Name && cur.RegionCode == o.RegionCode &&
		cur.Station == o.Station && cur.Address == o.Address && slices.Equal(cur.Tags, o.Tags) &&
		cur.RiskLevel == o.RiskLevel && cur.CreditClass == o.CreditClass && cur.Status == o.Status &&
		sameDate(cur.LastInspectedAt, o.lastInspected) && sameJSON(cur.Attributes, o.Attributes)
}

func sameDate(a, b *workday.Date) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// sameJSON compares two JSON documents by value.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// DeactivateObject takes the object out of the draw by setting a status
// other than active: closed (the default when status is empty), cancelled,
// revoked or moved_out. expected, if not 0, is the version the caller saw.
// Deactivating an object that is not active is refused.
func (s *Store) DeactivateObject(ctx context.Context, by Actor, key, status string, expected int64) (Object, error) {
	var out Object
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		var p problems
		st := p.vocab("status", ObjectStatuses, status, "closed")
		if st == "active" {
			p.add("status", "must be an inactive status: closed, cancelled, revoked or moved_out")
		}
		if err := p.err("the status is not valid"); err != nil {
			return err
		}
		cur, err := lockObject(ctx, tx, key, expected)
		if err != nil {
			return err
		}
		if cur.Status != "active" {
			return fault.New(fault.Conflict, "object %s is already inactive (%s); update it to change its status", key, cur.Status)
		}
		out, err = scanObject(tx.QueryRowContext(ctx, `UPDATE objects SET status = $2, row_version = row_version + 1,
			updated_at = now() WHERE key = $1 RETURNING `+objectCols, key, st))
		return err
	})
	return out, err
}

// Objects lists the objects that match f in key order, a page at a time;
// next is the After of the following page, empty on the last.
func (s *Store) Objects(ctx context.Context, f Filter) (list []Object, next string, err error) {
	where, a, err := s.filterWhere(ctx, f, true)
	if err != nil {
		return nil, "", err
	}
	limit := clampLimit(f.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+objectCols+` FROM objects WHERE `+where+
		` ORDER BY key LIMIT `+a.add(limit+1), a...)
	if err != nil {
		return nil, "", readErr(err, "list objects")
	}
	defer rows.Close()
	list = []Object{}
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, "", readErr(err, "list objects")
		}
		list = append(list, o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", readErr(err, "list objects")
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].Key
	}
	return list, next, nil
}

// filterWhere builds the WHERE clause of f over objects (or inspectors),
// checking every value.
func (s *Store) filterWhere(ctx context.Context, f Filter, objects bool) (string, args, error) {
	var a args
	var p problems
	if unstorable(f.After) {
		p.add("cursor", "is not a cursor this server issued; start again without it")
	}
	where := []string{"key > " + a.add(f.After)}
	enum := func(param, column string, v *Vocabulary, value string) {
		if value = strings.TrimSpace(value); value == "" {
			return
		}
		c, ok := v.Canonical(value)
		if !ok {
			p.add(param, "%s", vocabProblem(v, value))
			return
		}
		where = append(where, column+" = "+a.add(c))
	}
	if objects {
		enum("kind", "kind", ObjectKinds, f.Kind)
		enum("risk", "risk_level", RiskLevels, f.Risk)
		enum("credit", "credit_class", CreditClasses, f.Credit)
		enum("status", "status", ObjectStatuses, f.Status)
	} else {
		for param, v := range map[string]string{"kind": f.Kind, "risk": f.Risk, "credit": f.Credit} {
			if v != "" {
				p.add(param, "is not a filter of inspectors")
			}
		}
		enum("status", "status", InspectorStatuses, f.Status)
	}
	if len(f.Tags) > 0 {
		tags := p.tags("tag", f.Tags)
		where = append(where, "tags @> "+a.add(pq.Array(tags)))
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		if textProblem(q) != "" {
			p.add("q", "%s", textProblem(q))
		}
		pat := a.add(likePattern(q))
		where = append(where, "(name ILIKE "+pat+` ESCAPE '\' OR key ILIKE `+pat+` ESCAPE '\')`)
	}
	if r := strings.TrimSpace(f.Region); r != "" {
		code, err := s.filterRegion(ctx, "region", r)
		if e, ok := fault.As(err); ok {
			p.list = append(p.list, e.Problems...)
		} else if err != nil {
			return "", nil, err
		} else {
			where = append(where, "region_code IN "+fmt.Sprintf(regionScope, a.add(code)))
		}
	}
	slices.SortStableFunc(p.list, func(x, y fault.Problem) int { return strings.Compare(x.Field, y.Field) })
	return strings.Join(where, " AND "), a, p.err("the filter is not valid")
}
