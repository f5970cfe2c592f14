package activities

import (
	"context"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func TestTasksWritesAreIdempotentAndAudited(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	tk := &Tasks{Store: inspection.NewStore(db), Calendars: StaticCalendar{Cal: workday.Default()}}
	if _, err := db.Exec(`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
		VALUES ('TK-1', 'committed', '{}', 'd', repeat('a', 64), now(), 'test')`); err != nil {
		t.Fatal(err)
	}
	due := workday.Date{Year: 2026, Month: 3, Day: 31}
	if _, err := db.Exec(`INSERT INTO objects (key, kind, name, region_code) VALUES ('K1', 'project', '测试项目', '330402')`); err != nil {
		t.Fatal(err)
	}
	inspected := workday.Date{Year: 2026, Month: 3, Day: 10}
	rec := func(seq int, stage inspection.Stage) {
		t.Helper()
		if err := tk.Record(ctx, TaskRecord{BatchID: "TK-1", ObjectKey: "K1", County: "330402", Seq: seq, Stage: stage,
			Team: []string{"I1", "I2"}, ResultDue: &due, InspectedOn: &inspected}); err != nil {
			t.Fatal(err)
		}
	}
	rec(2, inspection.Inspected)
	rec(1, inspection.Assigned) // a late retry of an older write
	var stage string
	db.Get(&stage, `SELECT stage FROM tasks WHERE batch_id = 'TK-1' AND object_key = 'K1'`)
	if stage != "inspected" {
		t.Errorf("stage = %s: an older write overwrote a newer one", stage)
	}
	var last, actor string
	db.Get(&last, `SELECT coalesce(last_inspected_at::text, '') FROM objects WHERE key = 'K1'`)
	db.Get(&actor, `SELECT actor FROM library_changes WHERE entity_key = 'K1' AND action = 'update'`)
	if last != "2026-03-10" || actor != "workflow:batch/TK-1" {
		t.Errorf("the object's last inspection = %q by %q, want 2026-03-10 by the batch's workflow", last, actor)
	}

	at := time.Date(2026, 3, 12, 2, 0, 0, 0, time.UTC)
	result := ResultRecord{BatchID: "TK-1", ObjectKey: "K1", Revision: 1, At: at,
		Result: inspection.Result{Code: "pending_follow_up", Method: "on_site", EnteredBy: inspection.Actor{Role: "inspector", InspectorKey: "I1"}}}
	for i := 0; i < 2; i++ {
		if err := tk.SaveResult(ctx, result); err != nil {
			t.Fatal(err)
		}
		if err := tk.SaveReview(ctx, ReviewRecord{BatchID: "TK-1", ObjectKey: "K1", Revision: 1, At: at,
			Review: inspection.Review{Approve: true, Reviewer: inspection.Actor{Role: "county_officer", County: "330402"}}}); err != nil {
			t.Fatal(err)
		}
		if err := tk.Publish(ctx, PublishInput{BatchID: "TK-1", ObjectKey: "K1", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	var results, audits int
	db.Get(&results, `SELECT count(*) FROM results WHERE batch_id = 'TK-1' AND problems_found AND review = 'approved'`)
	db.Get(&audits, `SELECT count(*) FROM audit_log WHERE entity_id = 'TK-1/K1'`)
	if results != 1 || audits != 3 {
		t.Errorf("%d results, %d audit rows after retries; want 1 and 3", results, audits)
	}

	rec(3, inspection.FollowUp)
	var open int
	db.Get(&open, `SELECT count(*) FROM object_follow_ups WHERE object_key = 'K1' AND closed_at IS NULL`)
	if open != 1 {
		t.Errorf("%d open follow-ups, want 1", open)
	}
	rec(4, inspection.Closed)
	db.Get(&open, `SELECT count(*) FROM object_follow_ups WHERE object_key = 'K1' AND closed_at IS NULL`)
	if open != 0 {
		t.Error("closing the task left its follow-up open")
	}

	lapse := Lapse{BatchID: "TK-1", ObjectKey: "K1", County: "330402", Duty: "result_entry", Due: due, At: at}
	for i := 0; i < 2; i++ {
		if err := tk.OpenAccountability(ctx, lapse); err != nil {
			t.Fatal(err)
		}
	}
	// 2026-03-31 → 2026-04-07: 04-01, 04-02, 04-03, 04-07 (04-04..06 清明).
	late, err := tk.ResolveAccountability(ctx, Resolution{Lapse: lapse, On: workday.Date{Year: 2026, Month: 4, Day: 7}})
	if err != nil || late != 4 {
		t.Errorf("late = %d, %v; want 4", late, err)
	}
	var stored int
	db.Get(&stored, `SELECT working_days_late FROM accountability WHERE batch_id = 'TK-1'`)
	if stored != 4 {
		t.Errorf("ledger says %d working days late", stored)
	}
}

// TestLedgerTakesEveryDuty: the accountability ledger stores an entry for
// every duty the workflows watch (the seed's late result entry, late
// follow-up entry, unpublished results, delayed tasks, untransferred
// criminal cases, and the follow-up itself), and the task row its
// follow-up completion deadline.
func TestLedgerTakesEveryDuty(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	tk := &Tasks{Store: inspection.NewStore(db), Calendars: StaticCalendar{Cal: workday.Default()}}
	due := workday.Date{Year: 2026, Month: 3, Day: 31}
	for duty := range inspection.DutyNames {
		if err := tk.OpenAccountability(ctx, Lapse{BatchID: "LD-1", ObjectKey: "K1", County: "330402", Duty: duty, Due: due, At: time.Date(2026, 4, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))}); err != nil {
			t.Errorf("%s: %v", duty, err)
		}
	}
	var n int
	if err := db.Get(&n, `SELECT count(DISTINCT duty) FROM accountability WHERE batch_id = 'LD-1'`); err != nil || n != len(inspection.DutyNames) {
		t.Errorf("%d duties in the ledger, want %d: %v", n, len(inspection.DutyNames), err)
	}
	if err := tk.Record(ctx, TaskRecord{BatchID: "LD-1", ObjectKey: "K1", County: "330402", Seq: 1, Stage: inspection.FollowUp,
		Team: []string{"I1"}, FollowUpCompletionDue: &due}); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := db.Get(&stored, `SELECT follow_up_completion_due::text FROM tasks WHERE batch_id = 'LD-1'`); err != nil || stored != "2026-03-31" {
		t.Errorf("follow-up completion due %q, %v", stored, err)
	}
}

// TestPageWritesAreSetBasedAndIdempotent: a partition assigns its page and
// records a lapse of its unopened objects in one write each; a retry
// changes nothing, and an object already opened (its row ahead) is left
// alone.
func TestPageWritesAreSetBasedAndIdempotent(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	tk := &Tasks{Store: inspection.NewStore(db)}
	if _, err := db.Exec(`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
		VALUES ('TK-P', 'committed', '{}', 'd', repeat('a', 64), now(), 'test')`); err != nil {
		t.Fatal(err)
	}
	keys := []string{"PK1", "PK2", "PK3"}
	for _, k := range keys {
		if _, err := db.Exec(`INSERT INTO objects (key, kind, name, region_code) VALUES ($1, 'project', '测试项目', '330402')`, k); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO tasks (batch_id, object_key, county_code, stage) VALUES ('TK-P', $1, '330402', 'awaiting_match')`, k); err != nil {
			t.Fatal(err)
		}
		for pos, inspector := range []string{"I2", "I1"} {
			if _, err := db.Exec(`INSERT INTO match_assignments (batch_id, object_key, inspector_key, round, county_code, position, assigned_by)
				VALUES ('TK-P', $1, $2, 1, '330402', $3, 'test')`, k, inspector, pos); err != nil {
				t.Fatal(err)
			}
		}
	}
	// PK3 was opened and moved on by its own workflow.
	if _, err := db.Exec(`UPDATE tasks SET stage = 'inspected', seq = 5 WHERE batch_id = 'TK-P' AND object_key = 'PK3'`); err != nil {
		t.Fatal(err)
	}
	due := workday.Date{Year: 2026, Month: 3, Day: 20}
	a := PageAssignment{BatchID: "TK-P", County: "330402", Keys: keys, Tracker: "batch/TK-P/county/330402/part/0", Seq: 1, InspectionDue: &due}
	for range 2 {
		if err := tk.AssignPage(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	type row struct {
		Key     string `db:"object_key"`
		Stage   string `db:"stage"`
		Team    string `db:"team"`
		Due     string `db:"due"`
		Seq     int    `db:"seq"`
		Tracker string `db:"tracker"`
		Overdue string `db:"overdue"`
		Entries int    `db:"entries"`
		Audited int    `db:"audited"`
	}
	read := func() []row {
		t.Helper()
		var rows []row
		if err := db.Select(&rows, `SELECT t.object_key, t.stage, array_to_string(t.inspectors, ',') AS team, coalesce(t.inspection_due::text, '') AS due,
				t.seq, coalesce(t.tracker, '') AS tracker, array_to_string(t.overdue, ',') AS overdue,
				(SELECT count(*) FROM accountability a WHERE a.batch_id = t.batch_id AND a.object_key = t.object_key) AS entries,
				(SELECT count(*) FROM audit_log l WHERE l.entity_id = t.batch_id || '/' || t.object_key AND l.action = 'accountability.open') AS audited
			FROM tasks t WHERE t.batch_id = 'TK-P' ORDER BY t.object_key`); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	got := read()
	for _, r := range got[:2] {
		if r.Stage != "assigned" || r.Team != "I2,I1" || r.Due != "2026-03-20" || r.Seq != 1 || r.Tracker != a.Tracker {
			t.Errorf("assigned %+v, want assigned to I2,I1 (match order), due 2026-03-20, seq 1, tracked by the page", r)
		}
	}
	if got[2].Stage != "inspected" || got[2].Seq != 5 || got[2].Tracker != "" {
		t.Errorf("the opened object was overwritten: %+v", got[2])
	}
	tracker, err := tk.Store.Tracker(ctx, "TK-P", "PK1")
	if err != nil || tracker != a.Tracker {
		t.Errorf("Tracker(PK1) = %q, %v", tracker, err)
	}

	l := PageLapse{BatchID: "TK-P", County: "330402", Keys: keys[:2], Duty: "inspection", Due: due, Seq: 2, At: time.Date(2026, 3, 20, 16, 0, 0, 0, time.UTC)}
	for range 2 {
		if err := tk.OpenPageAccountability(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	got = read()
	for _, r := range got[:2] {
		if r.Overdue != "inspection" || r.Seq != 2 || r.Entries != 1 || r.Audited != 1 {
			t.Errorf("after the lapse (sent twice): %+v, want overdue inspection, seq 2, one ledger entry audited once", r)
		}
	}
	if got[2].Entries != 0 || got[2].Overdue != "" {
		t.Errorf("the opened object was lapsed by its page: %+v", got[2])
	}
}
