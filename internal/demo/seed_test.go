package demo

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// freshDB returns a migrated database of the test's own: seeding is about
// a whole database, not rows a test can keep apart.
func freshDB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := migrations.Up(ctx, db.DB); err != nil {
		t.Fatal(err)
	}
	return db
}

func count(t *testing.T, db *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.GetContext(ctx, &n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func seedDB(t *testing.T, db *sqlx.DB, opt Options) Report {
	t.Helper()
	rep, err := Seed(ctx, db, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The acceptance: the full data set lands in an empty database in
// well under 30 s, through the stores (change history, audit chain), and
// a second run adds nothing.
func TestSeedFromEmpty(t *testing.T) {
	db := freshDB(t)
	rep := seedDB(t, db, Options{})
	t.Logf("seeded in %s:\n%s", rep.Took, rep)
	want := Report{
		Departments: Counts{Added: len(departments)}, CheckItems: Counts{Added: len(items)},
		Objects: Counts{Added: DefaultObjects}, Inspectors: Counts{Added: DefaultInspectors},
		Conflicts: Counts{Added: DefaultConflicts}, Contacts: Counts{Added: 2*len(counties) + 1},
		DepartmentStaff: Counts{Added: len(generate(t, Options{}).DepartmentStaff)},
		Took:            rep.Took,
	}
	if rep.DepartmentStaff.Added < 4 {
		t.Errorf("%d department inspectors: the joint item needs two of each of its departments", rep.DepartmentStaff.Added)
	}
	if rep != want {
		t.Fatalf("report %+v, want %+v", rep, want)
	}
	if rep.Took > 30*time.Second {
		t.Errorf("seeding took %s; the target is well under 30 s", rep.Took)
	}

	for table, n := range map[string]int{"objects": DefaultObjects, "inspectors": DefaultInspectors,
		"inspector_conflicts": DefaultConflicts, "departments": len(departments), "contacts": 19} {
		if got := count(t, db, `SELECT count(*) FROM `+table); got != n {
			t.Errorf("%s: %d rows, want %d", table, got, n)
		}
	}
	if got := count(t, db, `SELECT count(*) FROM check_items WHERE version = 1 AND published AND effective_from = '2026-01-01'
		AND created_by = 'system:demo' AND department_code IS NOT NULL`); got != len(items) {
		t.Errorf("%d published items of version 1 from 2026-01-01, want %d", got, len(items))
	}
	// Every record went through the stores: the change history names the
	// demo for each (items: created, then published), and the audit
	// chain holds every change and verifies.
	changes := DefaultObjects + DefaultInspectors + DefaultConflicts + 2*len(items) + rep.DepartmentStaff.Added
	if got := count(t, db, `SELECT count(*) FROM library_changes WHERE actor = 'system:demo' AND source = 'demo'`); got != changes {
		t.Errorf("%d changes by system:demo, want %d", got, changes)
	}
	if got := count(t, db, `SELECT count(*) FROM library_changes`); got != changes {
		t.Errorf("%d changes in all, want %d", got, changes)
	}
	if v, err := audit.Verify(ctx, db); err != nil || !v.OK {
		t.Errorf("audit trail: %v %v", v, err)
	}
	// Each chained library row covers one change or, for a many-row
	// statement, the count in its payload.
	if got := count(t, db, `SELECT coalesce(sum(coalesce((payload->>'changes')::int, 1)), 0) FROM audit_log WHERE action LIKE 'library.%'`); got != changes {
		t.Errorf("the audit trail covers %d changes, want %d", got, changes)
	}
	// What is stored is what was generated, and it can be matched.
	stored, err := library.NewStore(db).Object(ctx, generate(t, Options{}).Objects[12345].Key)
	if err != nil || stored.Name != generate(t, Options{}).Objects[12345].Name {
		t.Errorf("object 12345: %+v %v", stored, err)
	}
	checkMatchable(t, fromDB(t, db))

	again := seedDB(t, db, Options{})
	if again.Added() != 0 || again.Objects.Present != DefaultObjects || again.Inspectors.Present != DefaultInspectors ||
		again.CheckItems.Present != len(items) || again.Conflicts.Present != DefaultConflicts || again.Contacts.Present != 19 ||
		again.Departments.Present != len(departments) || again.DepartmentStaff.Present != rep.DepartmentStaff.Added {
		t.Errorf("second run: %+v", again)
	}
	if got := count(t, db, `SELECT count(*) FROM library_changes`); got != changes {
		t.Errorf("the second run wrote %d changes", got-changes)
	}
	if again := seedDB(t, db, Options{IfEmpty: true}); !again.Skipped || again.ObjectsFound != DefaultObjects || again.Added() != 0 {
		t.Errorf("--if-empty on a seeded database: %+v", again)
	}
}

// A small set for end-to-end tests grows into a larger one: the first
// records are the same, so only the rest are added.
func TestSeedSmallThenLarger(t *testing.T) {
	db := freshDB(t)
	small := seedDB(t, db, Options{Objects: 2000, Inspectors: 60})
	if small.Objects.Added != 2000 || small.Inspectors.Added != 60 || small.Conflicts.Added != DefaultConflicts {
		t.Fatalf("small: %+v", small)
	}
	checkMatchable(t, fromDB(t, db))
	larger := seedDB(t, db, Options{Objects: 3000, Inspectors: 80})
	if larger.Objects != (Counts{Added: 1000, Present: 2000}) || larger.Inspectors != (Counts{Added: 20, Present: 60}) ||
		larger.Conflicts != (Counts{Present: DefaultConflicts}) || larger.CheckItems != (Counts{Present: len(items)}) {
		t.Errorf("larger: %+v", larger)
	}
	if got := count(t, db, `SELECT count(*) FROM objects`); got != 3000 {
		t.Errorf("%d objects", got)
	}
}

// A database somebody works with: --if-empty leaves it alone; without it,
// existing records are kept and the demo fits around them.
func TestSeedAroundExistingData(t *testing.T) {
	db := freshDB(t)
	lib := library.NewStore(db)
	someone := library.Actor{Name: "alice"}
	d := generate(t, Options{Objects: MinObjects, Inspectors: MinInspectors})
	// A department of the demo's name under another code; an object and
	// an inspector the demo would create, edited by someone; and an item
	// a run that stopped created but did not publish.
	if _, err := lib.CreateDepartment(ctx, someone, library.DepartmentInput{Code: "CH", Name: "测绘地理信息处"}); err != nil {
		t.Fatal(err)
	}
	obj := d.Objects[7]
	obj.Name = "改过名的对象"
	if _, err := lib.CreateObject(ctx, someone, obj); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.CreateInspectors(ctx, someone, d.Inspectors[3:4]); err != nil {
		t.Fatal(err)
	}
	interrupted := items[0]
	interrupted.DepartmentCode = "" // its department was not created yet
	if _, err := lib.CreateCheckItem(ctx, Actor, interrupted); err != nil {
		t.Fatal(err)
	}

	skipped := seedDB(t, db, Options{IfEmpty: true})
	if !skipped.Skipped || skipped.ObjectsFound != 1 || skipped.Added() != 0 {
		t.Fatalf("--if-empty: %+v", skipped)
	}
	if got := count(t, db, `SELECT count(*) FROM inspectors`); got != 1 {
		t.Fatalf("--if-empty wrote inspectors: %d", got)
	}

	rep := seedDB(t, db, Options{Objects: MinObjects, Inspectors: MinInspectors})
	if rep.Objects != (Counts{Added: MinObjects - 1, Present: 1}) || rep.Inspectors != (Counts{Added: MinInspectors - 1, Present: 1}) ||
		rep.CheckItems != (Counts{Added: len(items) - 1, Present: 1}) || rep.Departments != (Counts{Added: len(departments) - 1, Present: 1}) {
		t.Errorf("report %+v", rep)
	}
	if o, err := lib.Object(ctx, obj.Key); err != nil || o.Name != "改过名的对象" {
		t.Errorf("the edited object was overwritten: %+v %v", o, err)
	}
	if it, err := lib.CheckItem(ctx, "ZR-01"); err != nil || !it.Published || it.Version != 1 {
		t.Errorf("the interrupted item was not published: %+v %v", it, err)
	}
	// The surveying items belong to the department as it exists.
	if got := count(t, db, `SELECT count(*) FROM check_items WHERE department_code = 'CH'`); got != 4 {
		t.Errorf("%d items of department CH, want 4 (ZR-03, ZR-11, ZR-13, ZR-14)", got)
	}
	if got := count(t, db, `SELECT count(*) FROM inspectors WHERE department_code = 'CH'`); got < 2 {
		t.Errorf("%d inspectors of department CH, want its own for the joint item", got)
	}
	checkMatchable(t, fromDB(t, db))
}

func TestSeedRefusesBadOptions(t *testing.T) {
	db := testenv.DB(t)
	if _, err := Seed(ctx, db, Options{Inspectors: 10}); err == nil {
		t.Fatal("10 inspectors accepted")
	}
	if got := count(t, db, `SELECT count(*) FROM departments`); got != 0 {
		t.Errorf("a refused seed wrote %d departments", got)
	}
}

// BenchmarkSeed measures loading the full data set into an empty
// database (migrations excluded).
func BenchmarkSeed(b *testing.B) {
	for range b.N {
		b.StopTimer()
		db := freshDB(b)
		b.StartTimer()
		if _, err := Seed(ctx, db, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
