package audit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// BenchmarkAppend is one append as its own transaction: the cost a draw,
// a result or a token adds, and the rate at which the serialised chain
// grows.
func BenchmarkAppend(b *testing.B) {
	db := testenv.DB(b)
	ctx := context.Background()
	payload := map[string]any{"batch": "2026-B1", "drawn": 120, "seed": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := audit.Append(ctx, db, audit.Entry{Actor: "coordinator:zhang", Action: "bench.append", Entity: "batch", EntityID: fmt.Sprint(i), Payload: payload}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLibraryImport is what the chain adds to a bulk import: 1,000
// objects in one statement, chained by the trigger at commit, against the
// same import with the trigger disabled.
func BenchmarkLibraryImport(b *testing.B) {
	db := testenv.DB(b)
	n := 0
	for _, chained := range []bool{true, false} {
		b.Run(fmt.Sprintf("chained=%v", chained), func(b *testing.B) {
			for b.Loop() {
				n++
				tx := db.MustBegin()
				if !chained {
					tx.MustExec(`ALTER TABLE library_changes DISABLE TRIGGER library_changes_audit`)
				}
				tx.MustExec(`SET LOCAL spotcheck.actor = 'county_officer:bench'`)
				tx.MustExec(`INSERT INTO objects (key, kind, name, region_code)
					SELECT 'BENCH-' || $1::int || '-' || g, 'enterprise', '基准企业' || g, '330402' FROM generate_series(1, 1000) g`, n)
				if !chained {
					tx.MustExec(`ALTER TABLE library_changes ENABLE TRIGGER library_changes_audit`)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify walks the whole chain; b.N rows per op are reported as
// rows/s.
func BenchmarkVerify(b *testing.B) {
	db := testenv.DB(b)
	ctx := context.Background()
	for i := 0; i < 5000; i++ {
		if _, err := audit.Append(ctx, db, audit.Entry{Actor: "system", Action: "bench.verify", Entity: "thing", EntityID: fmt.Sprint(i), Payload: map[string]int{"i": i}}); err != nil {
			b.Fatal(err)
		}
	}
	var rows int64
	for b.Loop() {
		rep, err := audit.Verify(ctx, db)
		if err != nil || !rep.OK {
			b.Fatalf("%v %+v", err, rep.Problem)
		}
		rows = rep.Rows
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
