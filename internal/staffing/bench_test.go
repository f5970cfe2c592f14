package staffing

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lib/pq"
)

// BenchmarkMatchCounty5000x300 is a county's match end to end on
// PostgreSQL: reading the batch, its items and 5,000 drawn objects with
// their stations, declared conflicts and previous inspections, the pool of
// 300 inspectors with their open-task loads, matching, and storing the
// proof, about 10,750 assignments and the audit entry in one transaction. Each
// iteration matches a fresh batch over the same libraries (its creation is
// not timed).
func BenchmarkMatchCounty5000x300(b *testing.B) {
	f := newFixture(b)
	r := rand.New(rand.NewPCG(5, 6))
	land := f.item(itemSpec{code: "ZR", tags: []string{"land"}})
	survey := f.item(itemSpec{code: "KC", k: 3, tags: []string{"survey"}, cross: true})
	general := f.item(itemSpec{code: "YB"})

	stations := []string{"S1", "S2", "S3", "S4", "S5", "S6"}
	var specs []inspSpec
	for i := range 300 {
		s := inspSpec{key: fmt.Sprintf("I%03d", i), unit: stations[r.IntN(len(stations))], maxLoad: 60 + r.IntN(41)}
		if r.IntN(100) < 70 {
			s.tags = append(s.tags, "land")
		}
		if r.IntN(100) < 50 {
			s.tags = append(s.tags, "survey")
		}
		if i%50 == 0 {
			s.validUntil = "2026-01-01" // expired by the end of the period
		}
		specs = append(specs, s)
	}
	inspectors := f.inspectors(specs...)

	objs := make([]objSpec, 5000)
	var conflictInsp, conflictObj []string
	for j := range objs {
		o := objSpec{key: fmt.Sprintf("O%05d", j), station: stations[r.IntN(len(stations))]}
		switch x := r.IntN(100); {
		case x < 60:
			o.items = []string{general}
		case x < 85:
			o.items = []string{land}
		case x < 95:
			o.items = []string{survey}
		default:
			o.items = []string{land, survey}
		}
		objs[j] = o
		if r.IntN(10) == 0 {
			conflictInsp = append(conflictInsp, inspectors[r.IntN(len(inspectors))])
			conflictObj = append(conflictObj, f.id(o.key))
		}
	}
	f.exec(`INSERT INTO inspector_conflicts (inspector_key, object_key, reason)
		SELECT i, o, '利害关系' FROM unnest($1::text[], $2::text[]) AS u (i, o) ON CONFLICT DO NOTHING`,
		pq.Array(conflictInsp), pq.Array(conflictObj))
	// Half the objects were inspected before (closed tasks of an earlier
	// batch), and each inspector has a few open tasks elsewhere.
	f.exec(`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, updated_at)
		SELECT $1, k, $2, 'closed', ARRAY[($3::text[])[1 + (n % 290)], ($3::text[])[2 + (n % 290)]], now() - interval '100 days'
		FROM unnest($4::text[]) WITH ORDINALITY AS u (k, n) WHERE n % 2 = 0`,
		f.id("earlier"), f.county, pq.Array(inspectors), pq.Array(objectKeys(f, objs)))
	f.exec(`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors)
		SELECT $1, 'OPEN-' || n, $2, 'assigned', ARRAY[($3::text[])[1 + (n % 300)], ($3::text[])[1 + ((n * 7) % 300)]]
		FROM generate_series(1, 900) AS n`, f.id("open"), f.county, pq.Array(inspectors))
	f.exec(`ANALYZE`)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := f.batch(fmt.Sprintf("bench%d", i), []string{general, land, survey}, objs)
		b.StartTimer()
		res, err := f.match(id)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Teams) != len(objs) {
			b.Fatalf("%d teams", len(res.Teams))
		}
	}
}

func objectKeys(f *fixture, objs []objSpec) []string {
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = f.id(o.key)
	}
	return keys
}
