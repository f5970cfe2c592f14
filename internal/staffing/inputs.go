package staffing

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/match"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// An item is what a batch's item version asks of the teams that check it.
type item struct {
	Code               string         `db:"item_code"`
	InspectorsRequired int            `db:"inspectors_required"`
	RequiredTags       pq.StringArray `db:"required_tags"`
	CrossStation       bool           `db:"cross_station"`
	Department         string         `db:"department_code"`
	JointDepartments   pq.StringArray `db:"joint_departments"`
}

// A plan says which departments match in a batch and which items each one
// staffs. The departments (处室) own items but their county inspectors are
// one pool: a batch is matched once over the county's whole pool
// (department ""), one team per visit whatever the items' departments,
// unless one of its items names joint departments (联合检查). Such a joint
// batch is matched once per department over that department's own
// inspectors (inspectors.department_code): each item is staffed by its
// department and its joint departments, an item of no department by the
// inspectors of no department.
type plan struct {
	joint bool
	// items by code; departments of each item code, sorted.
	items map[string]item
	depts map[string][]string
	all   []string // every department that matches, sorted
}

func loadPlan(ctx context.Context, q sqlx.QueryerContext, batchID string) (*plan, error) {
	var items []item
	err := sqlx.SelectContext(ctx, q, &items, `
		SELECT bi.item_code, ci.inspectors_required, ci.required_tags, ci.cross_station,
		       coalesce(ci.department_code, '') AS department_code, ci.joint_departments
		FROM batch_items bi JOIN check_items ci ON ci.code = bi.item_code AND ci.version = bi.item_version
		WHERE bi.batch_id = $1 ORDER BY bi.position`, batchID)
	if err != nil {
		return nil, fmt.Errorf("read the items of batch %s: %w", batchID, err)
	}
	p := &plan{items: map[string]item{}, depts: map[string][]string{}}
	union := map[string]bool{}
	for _, it := range items {
		set := map[string]bool{}
		if it.Department != "" {
			set[it.Department] = true
		}
		for _, d := range it.JointDepartments {
			if d != "" {
				set[d] = true
			}
		}
		if len(set) == 0 {
			set[""] = true
		}
		p.items[it.Code] = it
		p.depts[it.Code] = slices.Sorted(maps.Keys(set))
		for d := range set {
			union[d] = true
		}
		p.joint = p.joint || len(set) > 1
	}
	if !p.joint {
		for code := range p.depts {
			p.depts[code] = []string{""}
		}
		p.all = []string{""}
	} else {
		p.all = slices.Sorted(maps.Keys(union))
	}
	return p, nil
}

// A drawnObject is a drawn object of the county with what recusal needs.
type drawnObject struct {
	Key      string         `db:"object_key"`
	Items    pq.StringArray `db:"item_codes"`
	Station  string
	Conflict []string // declared conflicts of interest
	Previous []string // the team of its latest previous task
}

// loadObjects reads the county's drawn objects in the drawn list's order,
// or only object when it is not empty, each with its station, its declared
// conflicts and the team of its latest task in another batch.
//
// The parts are read by separate queries over the list of keys rather than
// by one join: a batch is matched right after its drawn list was written,
// before the planner's statistics know it, and a join planned for one row
// takes seconds on thousands. An array of keys is counted exactly.
func loadObjects(ctx context.Context, q sqlx.QueryerContext, batchID, county, object string) ([]drawnObject, error) {
	var objs []drawnObject
	if err := sqlx.SelectContext(ctx, q, &objs, `
		SELECT object_key, item_codes FROM batch_objects b
		WHERE batch_id = $1 AND county_code = $2 AND ($3 = '' OR object_key = $3)
		  AND NOT EXISTS (SELECT 1 FROM match_set_asides s WHERE s.batch_id = b.batch_id AND s.object_key = b.object_key)
		ORDER BY position`, batchID, county, object); err != nil {
		return nil, fmt.Errorf("read the drawn objects of batch %s in county %s: %w", batchID, county, err)
	}
	if len(objs) == 0 {
		return nil, nil
	}
	keys := make([]string, len(objs))
	at := make(map[string]*drawnObject, len(objs))
	for i := range objs {
		keys[i] = objs[i].Key
		at[objs[i].Key] = &objs[i]
	}
	type pair struct {
		Object string `db:"object_key"`
		Value  string `db:"value"`
	}
	var pairs []pair
	if err := sqlx.SelectContext(ctx, q, &pairs, `
		SELECT key AS object_key, station AS value FROM objects WHERE key = ANY($1) AND station <> ''`,
		pq.Array(keys)); err != nil {
		return nil, fmt.Errorf("read the stations of the objects of batch %s: %w", batchID, err)
	}
	for _, p := range pairs {
		at[p.Object].Station = p.Value
	}
	pairs = pairs[:0]
	if err := sqlx.SelectContext(ctx, q, &pairs, `
		SELECT object_key, inspector_key AS value FROM inspector_conflicts WHERE object_key = ANY($1)
		ORDER BY object_key, inspector_key`, pq.Array(keys)); err != nil {
		return nil, fmt.Errorf("read the declared conflicts of the objects of batch %s: %w", batchID, err)
	}
	for _, p := range pairs {
		at[p.Object].Conflict = append(at[p.Object].Conflict, p.Value)
	}
	var previous []struct {
		Object string         `db:"object_key"`
		Team   pq.StringArray `db:"inspectors"`
	}
	if err := sqlx.SelectContext(ctx, q, &previous, `
		SELECT DISTINCT ON (object_key) object_key, inspectors FROM tasks
		WHERE object_key = ANY($1) AND batch_id <> $2 AND cardinality(inspectors) > 0
		ORDER BY object_key, updated_at DESC`, pq.Array(keys), batchID); err != nil {
		return nil, fmt.Errorf("read the previous inspections of the objects of batch %s: %w", batchID, err)
	}
	for _, p := range previous {
		at[p.Object].Previous = p.Team
	}
	return objs, nil
}

// A poolMember is an inspector of the county's pool with what recusal and
// joint matching need.
type poolMember struct {
	Key        string         `db:"key"`
	Tags       pq.StringArray `db:"tags"`
	MaxLoad    int            `db:"max_load"`
	Unit       string         `db:"unit"`
	Department string         `db:"department_code"`
	Load       int            `db:"load"`
	Name       string         `db:"name"`
	Status     string         `db:"status"`
	ValidUntil *time.Time     `db:"certificate_valid_until"`
}

// loadPool reads the county's active inspectors whose certificate is valid
// through end (a missing validity date is not valid), with their load
// today: the open tasks (stage other than closed) whose team includes
// them. An inspector belongs to the county by the rule that assigns drawn
// objects to counties at lock: their region, or its parent when that parent
// has a parent itself (a town or street under a county).
func loadPool(ctx context.Context, q sqlx.QueryerContext, county string, end workday.Date) ([]poolMember, error) {
	var pool []poolMember
	err := sqlx.SelectContext(ctx, q, &pool, `
		WITH pool AS (
			SELECT i.key, i.name, i.tags, i.max_load, i.unit, coalesce(i.department_code, '') AS department_code,
			       i.status, i.certificate_valid_until
			FROM inspectors i JOIN region_counties rc ON rc.code = i.region_code
			WHERE rc.county_code = $1
		), loads AS (
			SELECT k.key, count(*) AS load
			FROM tasks t CROSS JOIN LATERAL unnest(t.inspectors) AS k (key)
			WHERE t.stage <> 'closed' AND t.inspectors && (SELECT array_agg(key::text) FROM pool)
			GROUP BY k.key
		)
		SELECT pool.key, pool.name, pool.tags, pool.max_load, pool.unit, pool.department_code, coalesce(loads.load, 0) AS load,
		       pool.status, pool.certificate_valid_until
		FROM pool LEFT JOIN loads ON loads.key = pool.key
		ORDER BY pool.key`, county)
	if err != nil {
		return nil, fmt.Errorf("read the inspector pool of county %s: %w", county, err)
	}
	return slices.DeleteFunc(pool, func(m poolMember) bool { return Ineligible(m.Status, m.ValidUntil, end) != "" }), nil
}

// inputs are the match inputs of one department: its pool and the objects
// it staffs, in the drawn list's order.
type inputs struct {
	department string
	objects    []match.Object
	inspectors []match.Inspector
	// reasons say why each object's recused inspectors are recused (the
	// pool preview shows them).
	reasons map[string]map[string][]string
}

// Why an inspector is recused from an object (回避).
const (
	RecusedConflict = "conflict" // a declared conflict of interest
	RecusedPrevious = "previous" // on the team of the object's last inspection
	RecusedStation  = "station"  // of the object's own station, on a cross-station item
)

// recusals returns the inspectors recused from o among members (see
// Recused).
func recusals(o drawnObject, cross bool, members []poolMember) map[string][]string {
	units := make(map[string]string, len(members))
	for _, m := range members {
		units[m.Key] = m.Unit
	}
	return Recused(RecusalFacts{Conflicts: o.Conflict, Previous: o.Previous, Station: o.Station, CrossStation: cross}, units)
}

// build turns the county's objects and pool into the inputs of each
// department of the plan, in department order. Only departments that staff
// at least one of the objects appear.
func (p *plan) build(objs []drawnObject, pool []poolMember) ([]inputs, error) {
	byDept := map[string]*inputs{}
	// Members of each department's pool, and by unit for cross-station
	// recusal.
	members := map[string][]poolMember{}
	for _, m := range pool {
		d := ""
		if p.joint {
			d = m.Department
		}
		members[d] = append(members[d], m)
	}
	for _, o := range objs {
		// The requirements of the object's items, by department.
		type need struct {
			k     int
			tags  map[string]bool
			cross bool
		}
		needs := map[string]*need{}
		for _, code := range o.Items {
			it, ok := p.items[code]
			if !ok {
				return nil, fmt.Errorf("object %s lists item %s, which is not an item of its batch", o.Key, code)
			}
			for _, d := range p.depts[code] {
				n := needs[d]
				if n == nil {
					n = &need{tags: map[string]bool{}}
					needs[d] = n
				}
				n.k = max(n.k, it.InspectorsRequired)
				for _, t := range it.RequiredTags {
					n.tags[t] = true
				}
				n.cross = n.cross || it.CrossStation
			}
		}
		for d, n := range needs {
			recused := recusals(o, n.cross, members[d])
			in := byDept[d]
			if in == nil {
				in = &inputs{department: d, reasons: map[string]map[string][]string{}}
				byDept[d] = in
			}
			in.reasons[o.Key] = recused
			in.objects = append(in.objects, match.Object{
				ObjectKey:    o.Key,
				K:            n.k,
				RequiredTags: slices.Sorted(maps.Keys(n.tags)),
				Recused:      slices.Sorted(maps.Keys(recused)),
			})
		}
	}
	var out []inputs
	for _, d := range p.all {
		in := byDept[d]
		if in == nil {
			continue
		}
		for _, m := range members[d] {
			in.inspectors = append(in.inspectors, m.inspector())
		}
		out = append(out, *in)
	}
	return out, nil
}

func (m poolMember) inspector() match.Inspector {
	tags := slices.Clone([]string(m.Tags))
	sort.Strings(tags)
	return match.Inspector{InspectorKey: m.Key, Tags: slices.Compact(tags), InitialLoad: m.Load, MaxLoad: m.MaxLoad}
}

// batchRow is what matching needs of the batch.
type batchRow struct {
	State string         `db:"state"`
	Seed  sql.NullString `db:"seed"`
}
