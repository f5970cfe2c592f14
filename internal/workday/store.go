package workday

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Store keeps the calendar in the database (tables calendar_years and
// calendar_days), where an administrator replaces a year's schedule while the
// system runs. It serves the calendar in force as an immutable *Calendar,
// cached and reloaded only when the database says a year has changed.
//
// A Store is safe for concurrent use; its Calendar method satisfies
// activities.CalendarSource.
type Store struct {
	db *sqlx.DB

	mu     sync.Mutex
	cal    *Calendar
	stamp  revisionStamp
	loaded bool
}

// revisionStamp identifies a state of the calendar tables: every write to a
// year takes a new, higher revision (kept by triggers), and deleting a year
// lowers the count, so an unchanged stamp means an unchanged calendar.
type revisionStamp struct {
	MaxRevision int64 `db:"max_revision"`
	Years       int64 `db:"years"`
}

const stampQuery = `SELECT coalesce(max(revision), 0) AS max_revision, count(*) AS years FROM calendar_years`

// NewStore returns a Store reading and writing db.
func NewStore(db *sqlx.DB) *Store {
	return &Store{db: db}
}

// YearInfo describes one year's stored schedule: where it comes from, who
// last changed it, and how many days it lists. Revision changes with every
// write to the year and serves as its ETag.
type YearInfo struct {
	Year           int       `json:"year" db:"year"`
	Source         string    `json:"source" db:"source"`
	Revision       int64     `json:"revision" db:"revision"`
	UpdatedAt      time.Time `json:"updated_at" db:"updated_at"`
	UpdatedBy      string    `json:"updated_by" db:"updated_by"`
	Holidays       int       `json:"holiday_count" db:"holidays"`
	MakeupWorkdays int       `json:"makeup_workday_count" db:"makeup_workdays"`
}

// Calendar returns the calendar in force: the cached one if no year has
// changed since it was loaded (one small query), else a fresh load. Years
// with no stored schedule are unscheduled: deadlines reaching into them fail
// with *UnscheduledYearError, never fall back to weekends alone.
func (s *Store) Calendar(ctx context.Context) (*Calendar, error) {
	var now revisionStamp
	if err := s.db.GetContext(ctx, &now, stampQuery); err != nil {
		return nil, fmt.Errorf("workday: check calendar revision: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded && s.stamp == now {
		return s.cal, nil
	}
	cal, stamp, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	s.cal, s.stamp, s.loaded = cal, stamp, true
	return cal, nil
}

// load reads every year in one snapshot, so that the stamp describes exactly
// the days read.
func (s *Store) load(ctx context.Context) (*Calendar, revisionStamp, error) {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, revisionStamp{}, fmt.Errorf("workday: load calendar: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to undo
	var stamp revisionStamp
	if err := tx.GetContext(ctx, &stamp, stampQuery); err != nil {
		return nil, revisionStamp{}, fmt.Errorf("workday: load calendar: %w", err)
	}
	var years []int
	if err := tx.SelectContext(ctx, &years, `SELECT year FROM calendar_years ORDER BY year`); err != nil {
		return nil, revisionStamp{}, fmt.Errorf("workday: load calendar years: %w", err)
	}
	byYear := make(map[int]*Schedule, len(years))
	schedules := make([]*Schedule, len(years))
	for i, y := range years {
		schedules[i] = &Schedule{Year: y}
		byYear[y] = schedules[i]
	}
	if err := readDays(ctx, tx, `SELECT day::text AS day, kind, year FROM calendar_days ORDER BY day`, nil, byYear); err != nil {
		return nil, revisionStamp{}, err
	}
	list := make([]Schedule, len(schedules))
	for i, sc := range schedules {
		list[i] = *sc
	}
	cal, err := NewCalendar(list...)
	if err != nil {
		// Only a hand-made edit in SQL can get here: the API validates.
		return nil, revisionStamp{}, fmt.Errorf("workday: the calendar in the database is invalid: %w", err)
	}
	return cal, stamp, nil
}

type dayRow struct {
	Day  string `db:"day"`
	Kind string `db:"kind"`
	Year int    `db:"year"`
}

// readDays runs q and files each day under its year's schedule.
func readDays(ctx context.Context, q sqlx.QueryerContext, query string, args []any, byYear map[int]*Schedule) error {
	var rows []dayRow
	if err := sqlx.SelectContext(ctx, q, &rows, query, args...); err != nil {
		return fmt.Errorf("workday: read calendar days: %w", err)
	}
	for _, r := range rows {
		d, err := ParseDate(r.Day)
		if err != nil {
			return err
		}
		sc, ok := byYear[r.Year]
		if !ok {
			continue
		}
		if r.Kind == "makeup_workday" {
			sc.MakeupWorkdays = append(sc.MakeupWorkdays, d)
		} else {
			sc.Holidays = append(sc.Holidays, d)
		}
	}
	return nil
}

const yearInfoQuery = `
SELECT y.year, y.source, y.revision, y.updated_at, y.updated_by,
       count(d.day) FILTER (WHERE d.kind = 'holiday')        AS holidays,
       count(d.day) FILTER (WHERE d.kind = 'makeup_workday') AS makeup_workdays
FROM calendar_years y LEFT JOIN calendar_days d ON d.year = y.year`

// Years lists every stored year, in increasing order.
func (s *Store) Years(ctx context.Context) ([]YearInfo, error) {
	infos := []YearInfo{}
	if err := s.db.SelectContext(ctx, &infos, yearInfoQuery+` GROUP BY y.year ORDER BY y.year`); err != nil {
		return nil, fmt.Errorf("workday: list calendar years: %w", err)
	}
	return infos, nil
}

// Year returns one year's schedule, with its dates in calendar order, and
// its description. A year with no schedule is a fault.NotFound.
func (s *Store) Year(ctx context.Context, year int) (Schedule, YearInfo, error) {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return Schedule{}, YearInfo{}, fmt.Errorf("workday: read year %d: %w", year, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return yearIn(ctx, tx, year, false)
}

// yearIn reads year inside tx, locking its row when forUpdate is set.
func yearIn(ctx context.Context, tx *sqlx.Tx, year int, forUpdate bool) (Schedule, YearInfo, error) {
	if forUpdate {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM calendar_years WHERE year = $1 FOR UPDATE`, year); err != nil {
			return Schedule{}, YearInfo{}, fmt.Errorf("workday: lock year %d: %w", year, err)
		}
	}
	var info YearInfo
	err := tx.GetContext(ctx, &info, yearInfoQuery+` WHERE y.year = $1 GROUP BY y.year`, year)
	if errors.Is(err, sql.ErrNoRows) {
		return Schedule{}, YearInfo{}, fault.New(fault.NotFound, "the calendar has no schedule for %d", year)
	}
	if err != nil {
		return Schedule{}, YearInfo{}, fmt.Errorf("workday: read year %d: %w", year, err)
	}
	sc := &Schedule{Year: year, Holidays: []Date{}, MakeupWorkdays: []Date{}}
	if err := readDays(ctx, tx, `SELECT day::text AS day, kind, year FROM calendar_days WHERE year = $1 ORDER BY day`,
		[]any{year}, map[int]*Schedule{year: sc}); err != nil {
		return Schedule{}, YearInfo{}, err
	}
	return *sc, info, nil
}

// maxSourceLen bounds the free-text note of where a schedule comes from.
const maxSourceLen = 500

// PutSchedule stores sched as its year's schedule, replacing the whole year
// atomically, and records the change with actor. source says where the dates
// come from (e.g. the notice's title and number).
//
// ifRevision is the optimistic-concurrency check: 0 creates a year that must
// not exist yet (fault.PreconditionNeeded if it does, so that nobody replaces
// a year without having read it), any other value must be the year's current
// revision (fault.PreconditionFailed if not). A schedule that fails
// Schedule.Validate is a fault.Invalid listing every offending date. Putting
// exactly the stored schedule again changes nothing. created reports whether
// the year is new.
func (s *Store) PutSchedule(ctx context.Context, sched Schedule, source, actor string, ifRevision int64) (info YearInfo, created bool, err error) {
	if err := checkSchedule(sched, source); err != nil {
		return YearInfo{}, false, err
	}
	if actor == "" {
		return YearInfo{}, false, errors.New("workday: PutSchedule needs an actor")
	}
	sched = sched.clone()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return YearInfo{}, false, fmt.Errorf("workday: put year %d: %w", sched.Year, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op

	old, oldInfo, err := yearIn(ctx, tx, sched.Year, true)
	exists := err == nil
	if err != nil && fault.KindOf(err) != fault.NotFound {
		return YearInfo{}, false, err
	}
	switch {
	case exists && ifRevision == 0:
		return YearInfo{}, false, fault.New(fault.PreconditionNeeded,
			"%d already has a schedule (revision %d); read it and send If-Match with its ETag to replace it", sched.Year, oldInfo.Revision)
	case exists && ifRevision != oldInfo.Revision:
		return YearInfo{}, false, fault.New(fault.PreconditionFailed,
			"the schedule for %d has changed since revision %d (it is now at revision %d); read it again", sched.Year, ifRevision, oldInfo.Revision)
	case !exists && ifRevision != 0:
		return YearInfo{}, false, fault.New(fault.PreconditionFailed,
			"%d has no schedule, so it cannot be at revision %d; send no If-Match to create it", sched.Year, ifRevision)
	}
	if exists && oldInfo.Source == source && slices.Equal(old.Holidays, sched.Holidays) && slices.Equal(old.MakeupWorkdays, sched.MakeupWorkdays) {
		return oldInfo, false, nil
	}

	if exists {
		_, err = tx.ExecContext(ctx, `UPDATE calendar_years SET source = $2, updated_at = now(), updated_by = $3 WHERE year = $1`,
			sched.Year, source, actor)
	} else {
		var res sql.Result
		res, err = tx.ExecContext(ctx, `INSERT INTO calendar_years (year, source, updated_by) VALUES ($1, $2, $3) ON CONFLICT (year) DO NOTHING`,
			sched.Year, source, actor)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				return YearInfo{}, false, fault.New(fault.Conflict, "a schedule for %d was created by someone else meanwhile; read it and try again", sched.Year)
			}
		}
	}
	if err != nil {
		return YearInfo{}, false, fmt.Errorf("workday: put year %d: %w", sched.Year, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM calendar_days WHERE year = $1`, sched.Year); err != nil {
		return YearInfo{}, false, fmt.Errorf("workday: put year %d: clear days: %w", sched.Year, err)
	}
	days, kinds := dayColumns(sched)
	if _, err := tx.ExecContext(ctx, `INSERT INTO calendar_days (day, kind, year) SELECT unnest($1::date[]), unnest($2::text[]), $3`,
		pq.Array(days), pq.Array(kinds), sched.Year); err != nil {
		return YearInfo{}, false, fmt.Errorf("workday: put year %d: insert days: %w", sched.Year, err)
	}
	var before []byte
	if exists {
		if before, err = changeJSON(old, oldInfo.Source); err != nil {
			return YearInfo{}, false, err
		}
	}
	after, err := changeJSON(sched, source)
	if err != nil {
		return YearInfo{}, false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO calendar_changes (year, actor, before, after) VALUES ($1, $2, $3, $4)`,
		sched.Year, actor, nullJSON(before), string(after)); err != nil {
		return YearInfo{}, false, fmt.Errorf("workday: put year %d: record change: %w", sched.Year, err)
	}
	_, info, err = yearIn(ctx, tx, sched.Year, false)
	if err != nil {
		return YearInfo{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return YearInfo{}, false, fmt.Errorf("workday: put year %d: commit: %w", sched.Year, err)
	}
	s.mu.Lock()
	s.loaded = false
	s.mu.Unlock()
	return info, !exists, nil
}

// checkSchedule validates sched and source as fault.Invalid problems, each
// naming the field and, through Validate's messages, the date.
func checkSchedule(sched Schedule, source string) error {
	var problems []fault.Problem
	if err := sched.Validate(); err != nil {
		// Validate wraps one errors.Join of a problem per offending date.
		var list []error
		if joined, ok := errors.Unwrap(err).(interface{ Unwrap() []error }); ok {
			list = joined.Unwrap()
		} else {
			list = []error{err}
		}
		for _, e := range list {
			problems = append(problems, fault.Problem{Field: problemField(e.Error()), Message: e.Error()})
		}
	}
	if utf8.RuneCountInString(source) > maxSourceLen {
		problems = append(problems, fault.Problem{Field: "source", Message: fmt.Sprintf("is longer than %d characters", maxSourceLen)})
	}
	return fault.Invalids(fmt.Sprintf("the schedule for %d is not valid", sched.Year), problems)
}

// problemField names the schedule field a Validate message is about.
func problemField(msg string) string {
	switch {
	case strings.HasPrefix(msg, "make-up working day"), strings.Contains(msg, "as a make-up working day"):
		return "makeup_workdays"
	case strings.HasPrefix(msg, "holiday"), strings.HasPrefix(msg, "no holidays"):
		return "holidays"
	case strings.HasPrefix(msg, "year"):
		return "year"
	}
	return ""
}

// dayColumns lays sched out as parallel arrays of dates and kinds.
func dayColumns(sched Schedule) (days, kinds []string) {
	for _, d := range sched.Holidays {
		days, kinds = append(days, d.String()), append(kinds, "holiday")
	}
	for _, d := range sched.MakeupWorkdays {
		days, kinds = append(days, d.String()), append(kinds, "makeup_workday")
	}
	return days, kinds
}

// changeJSON is the form of a year in calendar_changes.
func changeJSON(sched Schedule, source string) ([]byte, error) {
	b, err := json.Marshal(struct {
		Source string `json:"source"`
		Schedule
	}{source, sched})
	if err != nil {
		return nil, fmt.Errorf("workday: encode schedule for %d: %w", sched.Year, err)
	}
	return b, nil
}

func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
