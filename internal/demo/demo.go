// Package demo loads a realistic data set of the Jiaxing natural-resources
// bureau — its departments and item list, 20,000 objects across the nine
// county-level units, 150 inspectors, declared conflicts and notification
// contacts — so that a newcomer's empty database shows a living system.
//
// The data are generated from a fixed seed, the same on every machine,
// and written through the library and notification stores, so validation,
// the change history (actor system:demo, source demo) and the audit chain
// apply as to any other write. Seeding is idempotent: what is already
// there is counted and left alone, and a run that stopped half-way is
// completed by the next.
package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
)

// Actor is who the change history names for demo data.
var Actor = library.Actor{Name: "system:demo", Source: "demo"}

// Counts says how many records of one kind a run added and how many it
// found already there.
type Counts struct {
	Added   int `json:"added"`
	Present int `json:"present"`
}

func (c Counts) String() string { return fmt.Sprintf("%d added, %d present", c.Added, c.Present) }

// Report is the outcome of Seed.
type Report struct {
	// Skipped is set when Options.IfEmpty found objects in the directory;
	// ObjectsFound is then their number and nothing was written.
	Skipped      bool
	ObjectsFound int

	Departments Counts
	CheckItems  Counts
	Objects     Counts
	Inspectors  Counts
	Conflicts   Counts
	Contacts    Counts
	// DepartmentStaff counts inspectors made a department's own.
	DepartmentStaff Counts
	Took            time.Duration
}

// Added is the number of records the run wrote.
func (r Report) Added() int {
	n := 0
	for _, c := range r.counts() {
		n += c.c.Added
	}
	return n
}

func (r Report) counts() []struct {
	name string
	c    Counts
} {
	return []struct {
		name string
		c    Counts
	}{
		{"departments", r.Departments}, {"check items", r.CheckItems}, {"objects", r.Objects},
		{"inspectors", r.Inspectors}, {"conflicts", r.Conflicts}, {"contacts", r.Contacts}, {"dept. staff", r.DepartmentStaff},
	}
}

// String renders the report for a terminal, one line per kind of record.
func (r Report) String() string {
	if r.Skipped {
		return fmt.Sprintf("demo data not loaded: the object directory already holds %d objects\n", r.ObjectsFound)
	}
	var b strings.Builder
	for _, c := range r.counts() {
		fmt.Fprintf(&b, "%-12s %s\n", c.name, c.c)
	}
	fmt.Fprintf(&b, "took %s\n", r.Took.Round(time.Millisecond))
	return b.String()
}

// Seed writes the demo data set of opt into db, a migrated spotcheck
// database, adding only what is not there yet. For an end-to-end test,
// Options{Objects: 2000, Inspectors: 60} gives a small set with the same
// guarantees: objects of every item in every county, and enough certified
// inspectors in every county for every item's team.
func Seed(ctx context.Context, db *sqlx.DB, opt Options) (Report, error) {
	start := time.Now()
	var rep Report
	if opt.IfEmpty {
		if err := db.GetContext(ctx, &rep.ObjectsFound, `SELECT count(*) FROM objects`); err != nil {
			return rep, fmt.Errorf("demo: count objects: %w", err)
		}
		if rep.ObjectsFound > 0 {
			rep.Skipped = true
			return rep, nil
		}
	}
	d, err := Generate(opt)
	if err != nil {
		return rep, err
	}
	lib := library.NewStore(db)
	steps := []struct {
		what string
		run  func() error
	}{
		{"departments", func() (err error) { rep.Departments, err = seedDepartments(ctx, db, lib, &d); return }},
		{"check items", func() (err error) { rep.CheckItems, err = seedItems(ctx, lib, d.CheckItems); return }},
		{"objects", func() (err error) { rep.Objects, err = seedObjects(ctx, db, lib, d.Objects); return }},
		{"inspectors", func() (err error) { rep.Inspectors, err = seedInspectors(ctx, db, lib, d.Inspectors); return }},
		{"conflicts", func() (err error) { rep.Conflicts, err = seedConflicts(ctx, db, lib, d.Conflicts); return }},
		{"contacts", func() (err error) { rep.Contacts, err = seedContacts(ctx, notify.NewStore(db), d.Contacts); return }},
		{"department staff", func() (err error) { rep.DepartmentStaff, err = seedStaff(ctx, lib, d.DepartmentStaff); return }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return rep, fmt.Errorf("demo: %s: %w", s.what, err)
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// seedDepartments creates the departments that are missing. A department
// that exists under another code but with the same name is used as it is:
// the items are pointed at its code.
func seedDepartments(ctx context.Context, db *sqlx.DB, lib *library.Store, d *Data) (Counts, error) {
	var c Counts
	var existing []struct{ Code, Name string }
	if err := db.SelectContext(ctx, &existing, `SELECT code, name FROM departments`); err != nil {
		return c, err
	}
	codes, byName := map[string]bool{}, map[string]string{}
	for _, e := range existing {
		codes[e.Code], byName[e.Name] = true, e.Code
	}
	rename := map[string]string{}
	for _, dep := range d.Departments {
		switch other, named := byName[dep.Name]; {
		case codes[dep.Code]:
			c.Present++
		case named:
			rename[dep.Code] = other
			c.Present++
		default:
			if _, err := lib.CreateDepartment(ctx, Actor, dep); err != nil {
				return c, err
			}
			c.Added++
		}
	}
	for i := range d.CheckItems {
		it := &d.CheckItems[i]
		if to, ok := rename[it.DepartmentCode]; ok {
			it.DepartmentCode = to
		}
		for j, jd := range it.JointDepartments {
			if to, ok := rename[jd]; ok {
				it.JointDepartments[j] = to
			}
		}
	}
	for i, st := range d.DepartmentStaff {
		if to, ok := rename[st.Department]; ok {
			d.DepartmentStaff[i].Department = to
		}
	}
	return c, nil
}

// seedItems creates and publishes the items whose codes are not taken. An
// item the demo created but did not get to publish is published now.
func seedItems(ctx context.Context, lib *library.Store, list []library.CheckItemInput) (Counts, error) {
	var c Counts
	for _, in := range list {
		cur, err := lib.CheckItem(ctx, in.Code)
		switch {
		case fault.KindOf(err) == fault.NotFound:
			if cur, err = lib.CreateCheckItem(ctx, Actor, in); err != nil {
				return c, fmt.Errorf("create %s: %w", in.Code, err)
			}
			c.Added++
		case err != nil:
			return c, err
		default:
			c.Present++
			if cur.Published || cur.CreatedBy != Actor.Name {
				continue
			}
		}
		if _, err := lib.PublishCheckItem(ctx, Actor, cur.Code, cur.Version); err != nil {
			return c, fmt.Errorf("publish %s: %w", in.Code, err)
		}
	}
	return c, nil
}

// existing returns the subset of keys present in column key of table.
func existing(ctx context.Context, db *sqlx.DB, table string, keys []string) (map[string]bool, error) {
	var found []string
	// table is one of two constants of this file, never input.
	if err := db.SelectContext(ctx, &found, `SELECT key FROM `+table+` WHERE key = ANY($1)`, pq.Array(keys)); err != nil {
		return nil, fmt.Errorf("look up %s: %w", table, err)
	}
	set := make(map[string]bool, len(found))
	for _, k := range found {
		set[k] = true
	}
	return set, nil
}

// objectChunk is how many objects one transaction adds. The audit chain
// appends one row per change at commit, each moving the chain's head row;
// in one transaction that costs more per row the more rows there are (the
// head's versions pile up), so 20,000 objects take about four times as
// long in one transaction as in chunks of a thousand.
const objectChunk = 1000

// seedObjects adds the missing objects, in all-or-nothing chunks: a run
// that stops half-way leaves whole chunks, and the next run adds the rest.
func seedObjects(ctx context.Context, db *sqlx.DB, lib *library.Store, list []library.ObjectInput) (Counts, error) {
	keys := make([]string, len(list))
	for i, o := range list {
		keys[i] = o.Key
	}
	have, err := existing(ctx, db, "objects", keys)
	if err != nil {
		return Counts{}, err
	}
	var add []library.ObjectInput
	for _, o := range list {
		if !have[o.Key] {
			add = append(add, o)
		}
	}
	c := Counts{Present: len(have)}
	for chunk := range slices.Chunk(add, objectChunk) {
		if _, err := lib.CreateObjects(ctx, Actor, chunk); err != nil {
			return c, err
		}
		c.Added += len(chunk)
	}
	return c, nil
}

// seedInspectors adds the missing inspectors in one all-or-nothing batch.
func seedInspectors(ctx context.Context, db *sqlx.DB, lib *library.Store, list []library.InspectorInput) (Counts, error) {
	keys := make([]string, len(list))
	for i, o := range list {
		keys[i] = o.Key
	}
	have, err := existing(ctx, db, "inspectors", keys)
	if err != nil {
		return Counts{}, err
	}
	var add []library.InspectorInput
	for _, o := range list {
		if !have[o.Key] {
			add = append(add, o)
		}
	}
	if _, err := lib.CreateInspectors(ctx, Actor, add); err != nil {
		return Counts{}, err
	}
	return Counts{Added: len(add), Present: len(have)}, nil
}

func seedConflicts(ctx context.Context, db *sqlx.DB, lib *library.Store, list []Conflict) (Counts, error) {
	var c Counts
	for _, cf := range list {
		var n int
		if err := db.GetContext(ctx, &n, `SELECT count(*) FROM inspector_conflicts WHERE inspector_key = $1 AND object_key = $2`,
			cf.InspectorKey, cf.ObjectKey); err != nil {
			return c, err
		}
		if n > 0 {
			c.Present++
			continue
		}
		if _, err := lib.DeclareConflict(ctx, Actor, cf.InspectorKey, cf.ConflictInput); err != nil {
			return c, fmt.Errorf("%s/%s: %w", cf.InspectorKey, cf.ObjectKey, err)
		}
		c.Added++
	}
	return c, nil
}

// seedContacts adds the contacts; one that exists already (same region,
// role, channel and address) is a Conflict and counted as present.
func seedContacts(ctx context.Context, st *notify.Store, list []notify.NewContact) (Counts, error) {
	var c Counts
	for _, nc := range list {
		_, err := st.AddContact(ctx, nc, Actor.Name)
		switch {
		case fault.KindOf(err) == fault.Conflict:
			c.Present++
		case err != nil:
			return c, fmt.Errorf("%s %s: %w", nc.RegionCode, nc.Role, err)
		default:
			c.Added++
		}
	}
	return c, nil
}

// seedStaff makes the listed inspectors their departments' own.
func seedStaff(ctx context.Context, lib *library.Store, list []Staff) (Counts, error) {
	var c Counts
	for _, st := range list {
		changed, err := lib.AssignDepartment(ctx, Actor, st.InspectorKey, st.Department)
		if err != nil {
			return c, fmt.Errorf("%s to %s: %w", st.InspectorKey, st.Department, err)
		}
		if changed {
			c.Added++
		} else {
			c.Present++
		}
	}
	return c, nil
}
