package demo

import (
	"context"
	"math"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/match"
)

// world is what the consistency check reads, from Generate's output or
// from a seeded database.
type world struct {
	items      []wItem
	objects    []wObject
	inspectors []wInspector
	conflicts  map[string][]string // object key -> inspector keys
}

type wItem struct {
	code, kind, ratio string
	tags, required    []string
	k                 int
	cross             bool
}

type wObject struct {
	key, kind, region, station, status string
	tags                               []string
}

type wInspector struct {
	key, region, unit, status, validUntil string
	tags                                  []string
	maxLoad                               int
}

func fromData(d Data) world {
	var w world
	for _, it := range d.CheckItems {
		w.items = append(w.items, wItem{code: it.Code, kind: it.ObjectKind, ratio: it.DefaultRatio, tags: it.ObjectTags,
			required: it.RequiredTags, k: *it.InspectorsRequired, cross: it.CrossStation})
	}
	for _, o := range d.Objects {
		w.objects = append(w.objects, wObject{o.Key, o.Kind, o.RegionCode, o.Station, o.Status, o.Tags})
	}
	for _, in := range d.Inspectors {
		w.inspectors = append(w.inspectors, wInspector{in.Key, in.RegionCode, in.Unit, in.Status, in.CertificateValidUntil, in.Tags, *in.MaxLoad})
	}
	w.conflicts = map[string][]string{}
	for _, c := range d.Conflicts {
		w.conflicts[c.ObjectKey] = append(w.conflicts[c.ObjectKey], c.InspectorKey)
	}
	return w
}

func fromDB(t *testing.T, db *sqlx.DB) world {
	t.Helper()
	ctx := context.Background()
	var w world
	rows, err := db.QueryContext(ctx, `SELECT code, object_kind, default_ratio, object_tags, required_tags, inspectors_required, cross_station
		FROM check_items WHERE published AND effective_from <= '2026-12-31' ORDER BY code`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var it wItem
		if err := rows.Scan(&it.code, &it.kind, &it.ratio, pq.Array(&it.tags), pq.Array(&it.required), &it.k, &it.cross); err != nil {
			t.Fatal(err)
		}
		w.items = append(w.items, it)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT key, kind, region_code, station, status, tags FROM objects`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var o wObject
		if err := rows.Scan(&o.key, &o.kind, &o.region, &o.station, &o.status, pq.Array(&o.tags)); err != nil {
			t.Fatal(err)
		}
		w.objects = append(w.objects, o)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT key, region_code, unit, status, coalesce(certificate_valid_until::text, ''), tags, max_load FROM inspectors`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var in wInspector
		if err := rows.Scan(&in.key, &in.region, &in.unit, &in.status, &in.validUntil, pq.Array(&in.tags), &in.maxLoad); err != nil {
			t.Fatal(err)
		}
		w.inspectors = append(w.inspectors, in)
	}
	rows.Close()
	w.conflicts = map[string][]string{}
	var cs []struct {
		InspectorKey string `db:"inspector_key"`
		ObjectKey    string `db:"object_key"`
	}
	if err := db.SelectContext(ctx, &cs, `SELECT inspector_key, object_key FROM inspector_conflicts`); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		w.conflicts[c.ObjectKey] = append(w.conflicts[c.ObjectKey], c.InspectorKey)
	}
	return w
}

func hasAll(tags, want []string) bool {
	for _, w := range want {
		if !slices.Contains(tags, w) {
			return false
		}
	}
	return true
}

// checkMatchable checks that every item has active objects in every
// county; that each of them has at least k eligible inspectors there
// (active, certified through the plan year, qualified, not recused by a
// declared conflict or the cross-station rule); and that a year's draw at
// the default ratios of every item can be matched in every county with
// the published algorithm, within the inspectors' load caps.
func checkMatchable(t *testing.T, w world) {
	t.Helper()
	if len(w.items) == 0 || len(w.objects) == 0 || len(w.inspectors) == 0 {
		t.Fatalf("empty world: %d items, %d objects, %d inspectors", len(w.items), len(w.objects), len(w.inspectors))
	}
	validThrough := ExpiringBefore.String()
	for _, c := range counties {
		var pool []match.Inspector
		units := map[string]string{}
		for _, in := range w.inspectors {
			if in.region == c.code && in.status == "active" && in.validUntil >= validThrough {
				pool = append(pool, match.Inspector{InspectorKey: in.key, Tags: in.tags, MaxLoad: in.maxLoad})
				units[in.key] = in.unit
			}
		}
		var year []match.Object
		for _, it := range w.items {
			var scope []wObject
			for _, o := range w.objects {
				if o.region == c.code && o.status == "active" && o.kind == it.kind && hasAll(o.tags, it.tags) {
					scope = append(scope, o)
				}
			}
			if len(scope) == 0 {
				t.Errorf("%s: item %s has no active object in scope", c.code, it.code)
				continue
			}
			short := 0
			for _, o := range scope {
				recused := slices.Clone(w.conflicts[o.key])
				if it.cross {
					for _, p := range pool {
						if units[p.InspectorKey] == o.station {
							recused = append(recused, p.InspectorKey)
						}
					}
				}
				eligible := 0
				for _, p := range pool {
					if hasAll(p.Tags, it.required) && !slices.Contains(recused, p.InspectorKey) {
						eligible++
					}
				}
				if eligible < it.k {
					short++
					if short <= 3 {
						t.Errorf("%s: item %s, object %s: %d eligible inspectors, %d needed", c.code, it.code, o.key, eligible, it.k)
					}
				}
				year = append(year, match.Object{ObjectKey: it.code + "|" + o.key, K: it.k, RequiredTags: it.required, Recused: recused})
			}
			// Keep the item's share of the year: its default ratio,
			// rounded up, of its objects in scope.
			r, err := strconv.ParseFloat(it.ratio, 64)
			if err != nil {
				t.Fatal(err)
			}
			n := int(math.Ceil(r * float64(len(scope))))
			sort.Slice(year[len(year)-len(scope):], func(i, j int) bool {
				a, b := year[len(year)-len(scope)+i], year[len(year)-len(scope)+j]
				return a.ObjectKey < b.ObjectKey
			})
			year = year[:len(year)-len(scope)+n]
		}
		if _, err := match.Match([32]byte{}, year, pool); err != nil {
			t.Errorf("%s: a year's draw at the default ratios (%d objects, %d inspectors) cannot be matched: %v", c.code, len(year), len(pool), err)
		}
	}
}
