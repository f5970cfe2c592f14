package workday_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func date(t testing.TB, s string) workday.Date {
	t.Helper()
	d, err := workday.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dropYears removes the years a test adds when it ends, so that the tests
// can run again in the same database.
func dropYears(t testing.TB, db *sqlx.DB, years ...int) {
	t.Cleanup(func() {
		for _, y := range years {
			db.Exec(`DELETE FROM calendar_years WHERE year = $1`, y)
			db.Exec(`DELETE FROM calendar_changes WHERE year = $1`, y)
		}
	})
}

func dates(t testing.TB, ss ...string) []workday.Date {
	out := make([]workday.Date, len(ss))
	for i, s := range ss {
		out[i] = date(t, s)
	}
	return out
}

// The migration's seed must be the embedded schedules, day by day.
func TestStoreSeedIsTheDefaultCalendar(t *testing.T) {
	ctx := context.Background()
	st := workday.NewStore(testenv.DB(t))
	cal, err := st.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	def := workday.Default()
	// Other tests of this package add years of their own, from 2027 on.
	var seeded []int
	for _, y := range cal.Years() {
		if y <= 2026 {
			seeded = append(seeded, y)
		}
	}
	if !slices.Equal(seeded, def.Years()) {
		t.Fatalf("years in the database %v, embedded %v", seeded, def.Years())
	}
	for _, y := range def.Years() {
		got, _ := cal.Schedule(y)
		want, _ := def.Schedule(y)
		if !slices.Equal(got.Holidays, want.Holidays) || !slices.Equal(got.MakeupWorkdays, want.MakeupWorkdays) {
			t.Errorf("%d: database %+v, embedded %+v", y, got, want)
		}
	}
	n := 0
	for d := date(t, "2023-12-25"); d.Before(date(t, "2027-01-01")); d = d.AddDays(1) {
		got, gotErr := cal.IsWorkingDay(d)
		want, wantErr := def.IsWorkingDay(d)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%s: database says %v, %v; embedded says %v, %v", d, got, gotErr, want, wantErr)
		}
		n++
	}
	if n != 7+366+365+365 {
		t.Errorf("compared %d days", n)
	}
	years, err := st.Years(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(years) < 3 || years[0].Year != 2024 || years[0].Holidays != 28 || years[0].MakeupWorkdays != 8 ||
		!strings.Contains(years[0].Source, "2024年部分节假日安排") || years[0].UpdatedBy != "migration" {
		t.Errorf("Years()[0] = %+v", years[0])
	}
}

func TestStorePutSchedule(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	st := workday.NewStore(db)
	dropYears(t, db, 2027, 2035)
	start := date(t, "2026-12-20")

	cal, err := st.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var unscheduled *workday.UnscheduledYearError
	if _, err := cal.AddWorkingDays(start, 15); !errors.As(err, &unscheduled) || unscheduled.Year != 2027 {
		t.Fatalf("before 2027 is stored: %v", err)
	}

	y2027 := workday.Schedule{
		Year:           2027,
		Holidays:       dates(t, "2027-01-01", "2027-01-02", "2027-01-03"),
		MakeupWorkdays: dates(t, "2027-01-10"), // a Sunday
	}
	info, created, err := st.PutSchedule(ctx, y2027, "国务院办公厅关于2027年部分节假日安排的通知", "admin:li", 0)
	if err != nil || !created {
		t.Fatalf("create 2027: %v, created %v", err, created)
	}
	if info.Year != 2027 || info.Holidays != 3 || info.MakeupWorkdays != 1 || info.UpdatedBy != "admin:li" || info.Revision == 0 {
		t.Errorf("info = %+v", info)
	}
	cal, err = st.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 2026-12-21..31: 9 working days; 2027-01-04..08: 5 more; 01-10 the 15th.
	if due, err := cal.AddWorkingDays(start, 15); err != nil || due.String() != "2027-01-10" {
		t.Errorf("with 2027: 2026-12-20 + 15 = %v, %v; want 2027-01-10", due, err)
	}

	// Replacing needs the current revision.
	y2027b := workday.Schedule{Year: 2027, Holidays: dates(t, "2027-01-01")}
	if _, _, err := st.PutSchedule(ctx, y2027b, "", "admin:wang", 0); fault.KindOf(err) != fault.PreconditionNeeded {
		t.Errorf("replace without revision: %v", err)
	}
	if _, _, err := st.PutSchedule(ctx, y2027b, "", "admin:wang", info.Revision-1); fault.KindOf(err) != fault.PreconditionFailed {
		t.Errorf("replace with a stale revision: %v", err)
	}
	if _, _, err := st.PutSchedule(ctx, workday.Schedule{Year: 2035, Holidays: dates(t, "2035-01-01")}, "", "admin:wang", 7); fault.KindOf(err) != fault.PreconditionFailed {
		t.Errorf("create with a revision: %v", err)
	}
	info2, created, err := st.PutSchedule(ctx, y2027b, "corrected", "admin:wang", info.Revision)
	if err != nil || created || info2.Revision <= info.Revision || info2.Holidays != 1 || info2.MakeupWorkdays != 0 {
		t.Fatalf("replace: %+v, %v, %v", info2, created, err)
	}
	got, gotInfo, err := st.Year(ctx, 2027)
	if err != nil || !slices.Equal(got.Holidays, y2027b.Holidays) || len(got.MakeupWorkdays) != 0 || gotInfo.Source != "corrected" {
		t.Errorf("Year(2027) = %+v, %+v, %v", got, gotInfo, err)
	}
	cal, _ = st.Calendar(ctx)
	if ok, _ := cal.IsWorkingDay(date(t, "2027-01-10")); ok {
		t.Error("the replaced year still has its old make-up Sunday")
	}
	if ok, _ := cal.IsWorkingDay(date(t, "2027-01-04")); !ok {
		t.Error("2027-01-04 is not a working day")
	}

	// The same schedule again changes nothing, not even the revision.
	info3, _, err := st.PutSchedule(ctx, y2027b, "corrected", "admin:zhao", info2.Revision)
	if err != nil || info3.Revision != info2.Revision || info3.UpdatedBy != "admin:wang" {
		t.Errorf("idempotent put: %+v, %v", info3, err)
	}

	var changes []struct {
		Actor  string  `db:"actor"`
		Before *string `db:"before"`
		After  string  `db:"after"`
	}
	if err := db.SelectContext(ctx, &changes, `SELECT actor, before::text AS before, after::text AS after FROM calendar_changes WHERE year = 2027 ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].Before != nil || changes[1].Before == nil ||
		!strings.Contains(*changes[1].Before, "2027-01-10") || strings.Contains(changes[1].After, "2027-01-10") || changes[1].Actor != "admin:wang" {
		t.Errorf("calendar_changes = %+v", changes)
	}

	if _, _, err := st.Year(ctx, 2040); fault.KindOf(err) != fault.NotFound {
		t.Errorf("Year(2040): %v", err)
	}
}

func TestStorePutScheduleInvalid(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	st := workday.NewStore(db)
	dropYears(t, db, 2028)
	bad := workday.Schedule{
		Year:           2028,
		Holidays:       dates(t, "2028-01-01", "2028-01-01", "2029-02-01", "2028-10-07"),
		MakeupWorkdays: dates(t, "2028-01-05", "2028-10-07"), // a Wednesday; a holiday too
	}
	_, _, err := st.PutSchedule(ctx, bad, "", "admin:li", 0)
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Invalid {
		t.Fatalf("invalid schedule: %v", err)
	}
	want := map[string]string{
		"2028-01-01 is listed twice": "holidays",
		"2029-02-01 is not in 2028":  "holidays",
		"2028-01-05 is a Wednesday":  "makeup_workdays",
		"2028-10-07 is listed both":  "makeup_workdays",
	}
	for frag, field := range want {
		found := false
		for _, p := range e.Problems {
			if strings.Contains(p.Message, frag) && p.Field == field {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem on %s saying %q in %+v", field, frag, e.Problems)
		}
	}
	if _, _, err := st.PutSchedule(ctx, workday.Schedule{Year: 2028}, "", "admin:li", 0); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a year without holidays: %v", err)
	}
	if _, _, err := st.Year(ctx, 2028); fault.KindOf(err) != fault.NotFound {
		t.Errorf("a refused schedule left something behind: %v", err)
	}
}

// The cache must notice changes made by other processes, even by hand in SQL.
func TestStoreCacheFollowsTheDatabase(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	st := workday.NewStore(db)
	other := workday.NewStore(db) // another process, e.g. the API
	dropYears(t, db, 2029)

	c1, err := st.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c2, _ := st.Calendar(ctx); c2 != c1 {
		t.Error("an unchanged calendar was loaded again")
	}
	if _, _, err := other.PutSchedule(ctx, workday.Schedule{Year: 2029, Holidays: dates(t, "2029-01-01")}, "", "admin:li", 0); err != nil {
		t.Fatal(err)
	}
	c3, err := st.Calendar(ctx)
	if err != nil || slices.Index(c3.Years(), 2029) < 0 {
		t.Fatalf("a year added elsewhere is not seen: %v, %v", c3.Years(), err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO calendar_days (day, kind, year) VALUES ('2029-03-01', 'holiday', 2029)`); err != nil {
		t.Fatal(err)
	}
	c4, _ := st.Calendar(ctx)
	if ok, err := c4.IsWorkingDay(date(t, "2029-03-01")); ok || err != nil {
		t.Errorf("a day added in SQL is not seen: %v, %v", ok, err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM calendar_years WHERE year = 2029`); err != nil {
		t.Fatal(err)
	}
	c5, _ := st.Calendar(ctx)
	var unscheduled *workday.UnscheduledYearError
	if _, err := c5.IsWorkingDay(date(t, "2029-03-02")); !errors.As(err, &unscheduled) {
		t.Errorf("a year deleted in SQL is still scheduled: %v", err)
	}
	// A day that breaks the schedule's rules cannot be stored at all.
	if _, err := db.ExecContext(ctx, `INSERT INTO calendar_days (day, kind, year) VALUES ('2026-03-04', 'makeup_workday', 2026)`); err == nil {
		t.Error("a make-up Wednesday was stored")
	}
}

func TestStoreConcurrentCreate(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	st := workday.NewStore(db)
	dropYears(t, db, 2030)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = st.PutSchedule(ctx, workday.Schedule{Year: 2030, Holidays: dates(t, "2030-01-01")}, "", "admin", 0)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch fault.KindOf(err) {
		case 0:
			if err != nil {
				t.Errorf("server error: %v", err)
			}
			ok++
		case fault.PreconditionNeeded, fault.Conflict:
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent creations succeeded, want 1", ok)
	}
}

// BenchmarkStoreCalendar measures a deadline computation's cost of asking
// the database whether the calendar changed (the cached path).
func BenchmarkStoreCalendar(b *testing.B) {
	ctx := context.Background()
	st := workday.NewStore(testenv.DB(b))
	if _, err := st.Calendar(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := st.Calendar(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
