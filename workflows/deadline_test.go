package workflows

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// oneObject is a batch of one object in Nanhu, matched and inspected on
// 2026-03-10; its result is due 2026-03-31 (15 working days).
func oneObject(t *testing.T) *harness {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1"}}})
	h.at(start.Add(2*time.Hour), func() { h.update("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer}) })
	h.at(time.Date(2026, 3, 10, 17, 0, 0, 0, china), func() {
		h.update(ObjectWorkflowID("B1", "K1"), UpdateInspected, Inspected{CompletedOn: day("2026-03-10"), By: inspector})
	})
	return h
}

func (h *harness) run() lifecycle.BatchProgress {
	h.t.Helper()
	h.env.ExecuteWorkflow(BatchWorkflow, lifecycle.BatchInput{BatchID: "B1", InspectionEnd: day("2026-06-30"), Policy: policy()})
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatal(err)
	}
	var p lifecycle.BatchProgress
	h.env.GetWorkflowResult(&p)
	return p
}

func (h *harness) resultAndApprove(result, review time.Time, code string) {
	id := ObjectWorkflowID("B1", "K1")
	h.at(result, func() {
		h.update(id, UpdateResult, inspection.Result{Code: code, Method: "on_site", EnteredBy: inspector})
	})
	h.at(review, func() { h.update(id, UpdateReview, inspection.Review{Approve: true, Reviewer: officer}) })
}

func ids(ns []string) string { return strings.Join(ns, "\n") }

// TestOverdueResultIsRemindedEscalatedAndResolved leaves the result entry
// two working days late.
func TestOverdueResultIsRemindedEscalatedAndResolved(t *testing.T) {
	h := oneObject(t)
	h.resultAndApprove(time.Date(2026, 4, 2, 10, 0, 0, 0, china), time.Date(2026, 4, 3, 10, 0, 0, 0, china), "no_problem")
	var during lifecycle.BatchProgress
	h.at(time.Date(2026, 4, 1, 12, 0, 0, 0, china), func() {
		v, err := h.env.QueryWorkflow(QueryProgress)
		if err == nil {
			v.Get(&during)
		}
	})
	p := h.run()
	if p.Phase != "archived" {
		t.Fatalf("phase %s", p.Phase)
	}
	if h.steps.beacons[0] != "" {
		t.Errorf("without a beacon the draw must use the empty beacon, got %q", h.steps.beacons[0])
	}
	var reminders []string
	for _, n := range h.rec.noticesOf("reminder") {
		if strings.Contains(n.ID, "/result_entry/") {
			reminders = append(reminders, n.ID)
		}
	}
	want := []string{"reminder/B1/K1/result_entry/2026-03-24", "reminder/B1/K1/result_entry/2026-03-30"}
	if ids(reminders) != ids(want) {
		t.Errorf("reminders:\n%s\nwant (5 and 1 working days before 2026-03-31):\n%s", ids(reminders), ids(want))
	}
	if len(h.rec.lapses) != 1 || h.rec.lapses[0].Duty != DutyResultEntry || h.rec.lapses[0].Due != day("2026-03-31") || h.rec.lapses[0].County != "330402" {
		t.Fatalf("accountability entries = %+v", h.rec.lapses)
	}
	if got := h.rec.lapses[0].At.In(china).Format(time.DateTime); got != "2026-04-01 00:00:00" {
		t.Errorf("escalated at %s, want the end of the due day", got)
	}
	var roles []string
	for _, n := range h.rec.noticesOf("escalation") {
		roles = append(roles, n.Role)
	}
	sort.Strings(roles) // notices go out side by side, in no fixed order
	if strings.Join(roles, ",") != "city_coordinator,county_head" {
		t.Errorf("escalated to %v", roles)
	}
	if len(h.rec.resolved) != 1 || h.rec.resolved[0].On != day("2026-04-02") {
		t.Errorf("resolutions = %+v", h.rec.resolved)
	}
	if during.Total.Overdue[DutyResultEntry] != 1 {
		t.Errorf("progress while overdue = %+v", during.Total)
	}
}

// TestExtensionRearmsTheDeadline extends the result entry by 5 working
// days across 清明 2026; the result entered on the new last day is on time.
func TestExtensionRearmsTheDeadline(t *testing.T) {
	h := oneObject(t)
	id := ObjectWorkflowID("B1", "K1")
	h.at(time.Date(2026, 3, 27, 10, 0, 0, 0, china), func() {
		h.rejected(id, UpdateExtend, Extension{Duty: DutyResultEntry, WorkingDays: 0, Reason: "", By: "coordinator:li"}, "working_days")
		h.update(id, UpdateExtend, Extension{Duty: DutyResultEntry, WorkingDays: 5, Reason: "检测报告未出", By: "coordinator:li"})
	})
	h.resultAndApprove(time.Date(2026, 4, 8, 16, 0, 0, 0, china), time.Date(2026, 4, 9, 10, 0, 0, 0, china), "no_problem")
	h.run()
	if len(h.rec.lapses) != 0 {
		t.Errorf("extended deadline escalated: %+v", h.rec.lapses)
	}
	var reminders []string
	for _, n := range h.rec.noticesOf("reminder") {
		if strings.Contains(n.ID, "/result_entry/") {
			reminders = append(reminders, n.ID)
		}
	}
	// 2026-03-31 + 5 working days = 2026-04-08 (04-04..06 are 清明).
	// After the extension both reminders are planned again from the new day.
	want := []string{"reminder/B1/K1/result_entry/2026-03-24", "reminder/B1/K1/result_entry/2026-03-31", "reminder/B1/K1/result_entry/2026-04-07"}
	if ids(reminders) != ids(want) {
		t.Errorf("reminders:\n%s\nwant:\n%s", ids(reminders), ids(want))
	}
}

// TestReturnedResultIsCorrected: a returned result needs a new revision.
func TestReturnedResultIsCorrected(t *testing.T) {
	h := oneObject(t)
	id := ObjectWorkflowID("B1", "K1")
	h.at(time.Date(2026, 3, 12, 10, 0, 0, 0, china), func() {
		h.rejected(id, UpdateReview, inspection.Review{Approve: true, Reviewer: officer}, "no result waiting")
		h.rejected(id, UpdateResult, inspection.Result{Code: "all_fine", Method: "on_site", EnteredBy: inspector}, "unknown result code")
		h.rejected(id, UpdateResult, inspection.Result{Code: "no_problem", Method: "on_site", EnteredBy: inspection.Actor{Role: "inspector", InspectorKey: "I9"}}, "not matched")
		h.update(id, UpdateResult, inspection.Result{Code: "no_problem", Method: "on_site", EnteredBy: inspector})
	})
	h.at(time.Date(2026, 3, 13, 10, 0, 0, 0, china), func() {
		h.rejected(id, UpdateReview, inspection.Review{Approve: false, Reviewer: officer}, "comment")
		h.update(id, UpdateReview, inspection.Review{Approve: false, Comment: "检查方式填写有误", Reviewer: officer})
	})
	h.resultAndApprove(time.Date(2026, 3, 16, 10, 0, 0, 0, china), time.Date(2026, 3, 17, 10, 0, 0, 0, china), "no_problem")
	h.run()
	h.env.AssertActivityNumberOfCalls(t, "SaveResult", 2)
	h.env.AssertActivityNumberOfCalls(t, "SaveReview", 2)
	if r := h.rec.tasks["K1"]; r.Stage != inspection.Closed {
		t.Errorf("stage %s", r.Stage)
	}
}

// TestFollowUpEntryDeadline: problems found open a follow-up whose entry
// is due 15 working days after it is completed.
func TestFollowUpEntryDeadline(t *testing.T) {
	h := oneObject(t)
	id := ObjectWorkflowID("B1", "K1")
	h.resultAndApprove(time.Date(2026, 3, 12, 10, 0, 0, 0, china), time.Date(2026, 3, 13, 10, 0, 0, 0, china), "pending_follow_up")
	h.at(time.Date(2026, 4, 20, 10, 0, 0, 0, china), func() {
		h.update(id, UpdateFollowUp, inspection.FollowUpEntry{CompletedOn: "2026-04-20", EnteredBy: officer})
	})
	var mid ObjectState
	h.at(time.Date(2026, 4, 21, 10, 0, 0, 0, china), func() {
		v, err := h.env.QueryWorkflowByID(id, QueryState)
		if err == nil {
			v.Get(&mid)
		}
		h.rejected(id, UpdateFollowUp, inspection.FollowUpEntry{CompletedOn: "2026-04-20", Actions: []string{"jail"}, EnteredBy: officer}, "unknown follow-up action")
	})
	h.at(time.Date(2026, 5, 15, 10, 0, 0, 0, china), func() {
		h.update(id, UpdateFollowUp, inspection.FollowUpEntry{CompletedOn: "2026-04-20", Actions: []string{"order_correction", "case_filed"}, EnteredBy: officer})
	})
	h.run()
	// 2026-04-20 + 15 working days: 05-01..05 off, 05-09 a make-up Saturday.
	if d := mid.Deadlines[DutyFollowUpEntry].Due; mid.Stage != inspection.FollowUp || d == nil || *d != day("2026-05-13") {
		t.Fatalf("follow-up state = %+v", mid)
	}
	if len(h.rec.lapses) != 1 || h.rec.lapses[0].Duty != DutyFollowUpEntry {
		t.Errorf("late follow-up entry not escalated: %+v", h.rec.lapses)
	}
}

// TestLateFollowUpEntryOnArrival: a follow-up reported completed 40 days
// ago and entered at once was due on 2026-05-09 (a make-up Saturday), long
// before it was entered; it goes to
// the ledger although no timer ever ran for it.
func TestLateFollowUpEntryOnArrival(t *testing.T) {
	h := oneObject(t)
	id := ObjectWorkflowID("B1", "K1")
	h.resultAndApprove(time.Date(2026, 3, 12, 10, 0, 0, 0, china), time.Date(2026, 3, 13, 10, 0, 0, 0, china), "pending_follow_up")
	h.at(time.Date(2026, 5, 25, 9, 0, 0, 0, china), func() {
		h.rejected(id, UpdateFollowUp, inspection.FollowUpEntry{CompletedOn: "2026-03-09", Actions: []string{"order_correction"}, EnteredBy: officer},
			"2026-03-09 is before the inspection that found the problems (2026-03-10)")
	})
	h.at(time.Date(2026, 5, 25, 10, 0, 0, 0, china), func() {
		h.update(id, UpdateFollowUp, inspection.FollowUpEntry{CompletedOn: "2026-04-15", Actions: []string{"order_correction"}, EnteredBy: officer})
	})
	h.run()
	// The follow-up itself was due by 2026-04-27 (30 working days for an
	// order to correct) and not reported by then: that entry is resolved
	// as met on its completion day, 2026-04-15 (0 days late).
	lapses := map[string]activities.Lapse{}
	for _, l := range h.rec.lapses {
		lapses[l.Duty] = l
	}
	if len(h.rec.lapses) != 2 || lapses[DutyFollowUpEntry].Due != day("2026-05-09") || lapses[DutyFollowUp].Due != day("2026-04-27") {
		t.Fatalf("late follow-up entry not in the ledger: %+v", h.rec.lapses)
	}
	resolved := map[string]activities.Resolution{}
	for _, r := range h.rec.resolved {
		resolved[r.Duty] = r
	}
	if len(h.rec.resolved) != 2 || resolved[DutyFollowUpEntry].On != day("2026-05-25") || resolved[DutyFollowUp].On != day("2026-04-15") {
		t.Errorf("the late entry is not resolved with its days late: %+v", h.rec.resolved)
	}
	if r := h.rec.tasks["K1"]; r.Stage != inspection.Closed {
		t.Errorf("stage %s", r.Stage)
	}
}

// TestPublicationDeadlineAcrossNationalDay: a result approved on
// 2026-09-17 must be public by 2026-10-21; publication failing until after
// then is escalated.
func TestPublicationDeadlineAcrossNationalDay(t *testing.T) {
	start := time.Date(2026, 9, 1, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1"}}})
	h.publishFails = true
	id := ObjectWorkflowID("B1", "K1")
	h.at(start.Add(2*time.Hour), func() { h.update("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer}) })
	h.at(time.Date(2026, 9, 10, 17, 0, 0, 0, china), func() {
		h.update(id, UpdateInspected, Inspected{CompletedOn: day("2026-09-10"), By: inspector})
	})
	h.resultAndApprove(time.Date(2026, 9, 15, 10, 0, 0, 0, china), time.Date(2026, 9, 17, 10, 0, 0, 0, china), "no_problem")
	h.at(time.Date(2026, 10, 23, 10, 0, 0, 0, china), func() { h.publishFails = false })
	h.env.ExecuteWorkflow(BatchWorkflow, lifecycle.BatchInput{BatchID: "B1", InspectionEnd: day("2026-11-30"), Policy: policy()})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if r := h.rec.tasks["K1"]; r.PublicationDue == nil || *r.PublicationDue != day("2026-10-21") {
		t.Errorf("publication due = %v, want 2026-10-21", r.PublicationDue)
	}
	if len(h.rec.lapses) != 1 || h.rec.lapses[0].Duty != DutyPublication || h.rec.lapses[0].Due != day("2026-10-21") {
		t.Errorf("lapses = %+v", h.rec.lapses)
	}
}

// TestCountyAutoMatch: a county that does not match within 5 working days
// is escalated and matched by the system.
func TestCountyAutoMatch(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1"}}})
	id := ObjectWorkflowID("B1", "K1")
	h.at(start.Add(30*time.Minute), func() {
		h.rejected("batch/B1/county/330402", UpdateMatch, MatchRequest{By: inspection.Actor{Role: "county_officer", County: "330411"}}, "only a county officer of 330402")
	})
	h.at(time.Date(2026, 3, 12, 17, 0, 0, 0, china), func() {
		h.update(id, UpdateInspected, Inspected{CompletedOn: day("2026-03-12"), By: inspector})
	})
	h.resultAndApprove(time.Date(2026, 3, 13, 10, 0, 0, 0, china), time.Date(2026, 3, 13, 11, 0, 0, 0, china), "no_problem")
	h.run()
	if len(h.matcher.calls) != 1 || !h.matcher.calls[0].Auto {
		t.Fatalf("match calls = %+v", h.matcher.calls)
	}
	if len(h.rec.lapses) != 1 || h.rec.lapses[0].Duty != DutyMatching || h.rec.lapses[0].Due != day("2026-03-09") {
		t.Errorf("lapses = %+v", h.rec.lapses)
	}
}

// TestBeaconValidation: a beacon with a TAB is refused; after the draw no
// beacon is taken.
func TestBeaconValidation(t *testing.T) {
	h := oneObject(t)
	h.at(time.Date(2026, 3, 2, 9, 5, 0, 0, china), func() {
		h.rejected("batch/B1", UpdateBeacon, "a\tb", "beacon")
	})
	h.at(time.Date(2026, 3, 2, 10, 30, 0, 0, china), func() {
		h.rejected("batch/B1", UpdateBeacon, "late", "batch B1 is with its counties (matching and inspections) and takes no beacon now")
	})
	h.resultAndApprove(time.Date(2026, 3, 12, 10, 0, 0, 0, china), time.Date(2026, 3, 13, 10, 0, 0, 0, china), "no_problem")
	h.run()
}

// TestTaskRecordsUnscheduledYear inspects an object on 2026-12-21: its
// result is due 15 working days later, in 2027, which the shipped calendar
// has no schedule for. The task row says so while the duty is open, and no
// longer once every duty is met.
func TestTaskRecordsUnscheduledYear(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1"}}})
	id := ObjectWorkflowID("B1", "K1")
	h.at(start.Add(2*time.Hour), func() { h.update("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer}) })
	h.at(time.Date(2026, 12, 21, 17, 0, 0, 0, china), func() {
		h.update(id, UpdateInspected, Inspected{CompletedOn: day("2026-12-21"), By: inspector})
	})
	var open activities.TaskRecord
	h.at(time.Date(2026, 12, 22, 12, 0, 0, 0, china), func() {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		open = h.rec.tasks["K1"]
	})
	h.resultAndApprove(time.Date(2026, 12, 23, 10, 0, 0, 0, china), time.Date(2026, 12, 23, 11, 0, 0, 0, china), "no_problem")
	h.env.ExecuteWorkflow(BatchWorkflow, lifecycle.BatchInput{BatchID: "B1", InspectionEnd: day("2026-12-31"), Policy: policy()})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if open.Stage != inspection.Inspected || open.ResultDue != nil || open.UnscheduledYear != 2027 {
		t.Errorf("task while its result is due in 2027: stage %s, result_due %v, unscheduled year %d", open.Stage, open.ResultDue, open.UnscheduledYear)
	}
	if last := h.rec.tasks["K1"]; last.UnscheduledYear != 0 {
		t.Errorf("closed task (stage %s) still records unscheduled year %d", last.Stage, last.UnscheduledYear)
	}
}

// TestSetAsideObjectDoesNotBlockItsCounty: K2 was set aside before the
// match (nobody may inspect it); the county is matched without it, the city
// is told, and the batch closes when K1 does.
func TestSetAsideObjectDoesNotBlockItsCounty(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1", "K2"}}})
	h.matcher.setAside = map[string]bool{"K2": true}
	h.at(start.Add(2*time.Hour), func() { h.update("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer}) })
	h.at(time.Date(2026, 3, 10, 17, 0, 0, 0, china), func() {
		h.update(ObjectWorkflowID("B1", "K1"), UpdateInspected, Inspected{CompletedOn: day("2026-03-10"), By: inspector})
	})
	h.resultAndApprove(time.Date(2026, 3, 12, 10, 0, 0, 0, china), time.Date(2026, 3, 13, 10, 0, 0, 0, china), "no_problem")
	p := h.run()
	if p.Phase != "archived" || p.Total.Stages[inspection.SetAside] != 1 || p.Total.Stages[inspection.Closed] != 1 {
		t.Errorf("progress = %+v", p.Total)
	}
	if _, ok := h.rec.tasks["K2"]; ok {
		t.Error("a set-aside object was tracked by an object workflow")
	}
	ex := h.rec.noticesOf("exception")
	if len(ex) != 1 || ex[0].Role != "city_coordinator" || !strings.Contains(ex[0].Body, "K2") {
		t.Errorf("exception notices = %+v", ex)
	}
}

// suspectedCrime approves a result of K1 marked as a suspected crime on
// 2026-03-13; its transfer is due 5 working days later, on 2026-03-20.
func suspectedCrime(t *testing.T) *harness {
	h := oneObject(t)
	id := ObjectWorkflowID("B1", "K1")
	h.at(time.Date(2026, 3, 12, 10, 0, 0, 0, china), func() {
		h.update(id, UpdateResult, inspection.Result{Code: "pending_follow_up", Method: "on_site", SuspectedCrime: true, EnteredBy: inspector})
	})
	h.at(time.Date(2026, 3, 13, 10, 0, 0, 0, china), func() { h.update(id, UpdateReview, inspection.Review{Approve: true, Reviewer: officer}) })
	h.at(time.Date(2026, 4, 20, 10, 0, 0, 0, china), func() {
		h.update(id, UpdateFollowUp, inspection.FollowUpEntry{CompletedOn: "2026-04-20", Actions: []string{"judicial_transfer"}, EnteredBy: officer})
	})
	return h
}

// TestJudicialTransferInTime: recorded on time, no ledger entry; the
// transfer is refused before the approval, without its fields, and twice.
func TestJudicialTransferInTime(t *testing.T) {
	h := suspectedCrime(t)
	id := ObjectWorkflowID("B1", "K1")
	transfer := JudicialTransfer{Organ: "嘉兴市公安局南湖区分局", TransferredOn: day("2026-03-18"), DocumentNo: "嘉南自然资移〔2026〕1号", By: officer}
	h.at(time.Date(2026, 3, 12, 11, 0, 0, 0, china), func() { h.rejected(id, UpdateTransfer, transfer, "nothing to transfer") })
	h.at(time.Date(2026, 3, 18, 10, 0, 0, 0, china), func() {
		h.rejected(id, UpdateTransfer, JudicialTransfer{TransferredOn: day("2026-03-18"), By: officer}, "the transfer cannot be recorded")
		h.rejected(id, UpdateTransfer, JudicialTransfer{Organ: "x", TransferredOn: day("2026-03-18"), DocumentNo: "1", By: inspector}, "only a county officer")
		h.update(id, UpdateTransfer, transfer)
	})
	h.at(time.Date(2026, 3, 19, 10, 0, 0, 0, china), func() { h.rejected(id, UpdateTransfer, transfer, "already recorded") })
	h.run()
	for _, l := range h.rec.lapses {
		t.Errorf("lapse %+v", l)
	}
	h.env.AssertActivityNumberOfCalls(t, "SaveTransfer", 1)
	if r := h.rec.tasks["K1"]; r.Stage != inspection.Closed {
		t.Errorf("stage %s", r.Stage)
	}
}

// TestUntransferredCrimeIsALapse: no transfer by 2026-03-20 is an
// accountability entry (seed 三(二)), escalated; the object closes once
// the transfer is recorded, late.
func TestUntransferredCrimeIsALapse(t *testing.T) {
	h := suspectedCrime(t)
	id := ObjectWorkflowID("B1", "K1")
	h.at(time.Date(2026, 5, 6, 10, 0, 0, 0, china), func() {
		h.update(id, UpdateTransfer, JudicialTransfer{Organ: "嘉兴市公安局南湖区分局", TransferredOn: day("2026-05-06"), DocumentNo: "嘉南自然资移〔2026〕2号", By: officer})
	})
	h.run()
	if len(h.rec.lapses) != 1 || h.rec.lapses[0].Duty != DutyJudicialTransfer || h.rec.lapses[0].Due != day("2026-03-20") {
		t.Fatalf("lapses = %+v", h.rec.lapses)
	}
	if len(h.rec.resolved) != 1 || h.rec.resolved[0].On != day("2026-05-06") {
		t.Errorf("resolved = %+v", h.rec.resolved)
	}
	if n := len(h.rec.noticesOf("escalation")); n != 2 {
		t.Errorf("%d escalations, want the county head and the city", n)
	}
	if r := h.rec.tasks["K1"]; r.Stage != inspection.Closed {
		t.Errorf("stage %s", r.Stage)
	}
}

// TestFollowUpCompletionDeadline: a result approved on 2026-03-13 plans a
// notice to another department, whose follow-up is completed within 10
// working days (2026-03-27). Nothing is reported by then: reminded,
// escalated and in the ledger as duty follow_up; reported completed on
// 2026-04-03, the entry is resolved as met that day.
func TestFollowUpCompletionDeadline(t *testing.T) {
	h := oneObject(t)
	id := ObjectWorkflowID("B1", "K1")
	h.at(time.Date(2026, 3, 12, 10, 0, 0, 0, china), func() {
		h.rejected(id, UpdateResult, inspection.Result{Code: "no_problem", Method: "on_site", FollowUpAction: "notify_department", EnteredBy: inspector}, "takes no follow-up action")
		h.update(id, UpdateResult, inspection.Result{Code: "pending_follow_up", Method: "on_site", FollowUpAction: "notify_department", EnteredBy: inspector})
	})
	h.at(time.Date(2026, 3, 13, 10, 0, 0, 0, china), func() { h.update(id, UpdateReview, inspection.Review{Approve: true, Reviewer: officer}) })
	var mid ObjectState
	h.at(time.Date(2026, 3, 16, 10, 0, 0, 0, china), func() {
		if v, err := h.env.QueryWorkflowByID(id, QueryState); err == nil {
			v.Get(&mid)
		}
	})
	h.at(time.Date(2026, 4, 3, 10, 0, 0, 0, china), func() {
		h.update(id, UpdateFollowUp, inspection.FollowUpEntry{CompletedOn: "2026-04-03", Actions: []string{"notify_department"}, EnteredBy: officer})
	})
	h.run()
	if d := mid.Deadlines[DutyFollowUp].Due; d == nil || *d != day("2026-03-27") {
		t.Fatalf("follow-up completion deadline = %+v, want 2026-03-27", mid.Deadlines[DutyFollowUp])
	}
	var reminders []string
	for _, n := range h.rec.noticesOf("reminder") {
		if strings.Contains(n.ID, "/follow_up/") {
			reminders = append(reminders, n.ID)
		}
	}
	want := []string{"reminder/B1/K1/follow_up/2026-03-20", "reminder/B1/K1/follow_up/2026-03-26"}
	if ids(reminders) != ids(want) {
		t.Errorf("reminders:\n%s\nwant:\n%s", ids(reminders), ids(want))
	}
	if len(h.rec.lapses) != 1 || h.rec.lapses[0].Duty != DutyFollowUp || h.rec.lapses[0].Due != day("2026-03-27") {
		t.Fatalf("lapses = %+v", h.rec.lapses)
	}
	if n := len(h.rec.noticesOf("escalation")); n != 2 {
		t.Errorf("%d escalations, want the county head and the city", n)
	}
	if len(h.rec.resolved) != 1 || h.rec.resolved[0].On != day("2026-04-03") {
		t.Errorf("resolved = %+v", h.rec.resolved)
	}
	if r := h.rec.tasks["K1"]; r.Stage != inspection.Closed || r.FollowUpCompletionDue == nil || *r.FollowUpCompletionDue != day("2026-03-27") {
		t.Errorf("task = %+v", r)
	}
}

// TestFollowUpDaysFromThePolicy: the batch policy sets the days per
// measure; a result naming none plans order_correction.
func TestFollowUpDaysFromThePolicy(t *testing.T) {
	p := policy()
	p.FollowUpDays = map[string]int{"order_correction": 3}
	if n := p.FollowUpLimit(inspection.Result{}.PlannedAction()); n != 3 {
		t.Errorf("order_correction: %d days, want the policy's 3", n)
	}
	if n := p.FollowUpLimit("case_filed"); n != lifecycle.DefaultFollowUpDays["case_filed"] {
		t.Errorf("case_filed: %d days, want the default", n)
	}
	p.FollowUpDays = map[string]int{"jail": 3, "case_filed": 0}
	err := p.Validate()
	if err == nil {
		t.Fatal("a policy with an unknown measure and 0 days was accepted")
	}
	for _, field := range []string{"policy.follow_up_days.jail", "policy.follow_up_days.case_filed"} {
		if !strings.Contains(fmt.Sprintf("%+v", err), field) {
			t.Errorf("no problem for %s in %+v", field, err)
		}
	}
}

// TestLateInspectionIsALapse: a delayed task (检查 not done in the
// inspection period) is reminded, escalated and in the ledger as duty
// inspection, and resolved when the inspection is reported.
func TestLateInspectionIsALapse(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1"}}})
	id := ObjectWorkflowID("B1", "K1")
	h.at(start.Add(2*time.Hour), func() { h.update("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer}) })
	h.at(time.Date(2026, 3, 24, 17, 0, 0, 0, china), func() {
		h.update(id, UpdateInspected, Inspected{CompletedOn: day("2026-03-24"), By: inspector})
	})
	h.resultAndApprove(time.Date(2026, 3, 25, 10, 0, 0, 0, china), time.Date(2026, 3, 25, 11, 0, 0, 0, china), "no_problem")
	h.env.ExecuteWorkflow(BatchWorkflow, lifecycle.BatchInput{BatchID: "B1", InspectionEnd: day("2026-03-20"), Policy: policy()})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(h.rec.lapses) != 1 || h.rec.lapses[0].Duty != DutyInspection || h.rec.lapses[0].Due != day("2026-03-20") {
		t.Fatalf("lapses = %+v", h.rec.lapses)
	}
	if len(h.rec.resolved) != 1 || h.rec.resolved[0].On != day("2026-03-24") {
		t.Errorf("resolved = %+v", h.rec.resolved)
	}
}

// TestLedgerNamesEveryDuty: every duty the seed names has its ledger name
// and Chinese term (late result entry, late follow-up entry, unpublished
// results, delayed tasks, untransferred criminal cases, and the follow-up
// itself); each has its test above: TestOverdueResultIsRemindedEscalatedAndResolved,
// TestFollowUpEntryDeadline, TestPublicationDeadlineAcrossNationalDay,
// TestLateInspectionIsALapse, TestUntransferredCrimeIsALapse,
// TestFollowUpCompletionDeadline, TestCountyAutoMatch.
func TestLedgerNamesEveryDuty(t *testing.T) {
	for _, d := range []string{DutyMatching, DutyInspection, DutyResultEntry, DutyFollowUp, DutyFollowUpEntry, DutyPublication, DutyJudicialTransfer} {
		if inspection.DutyNames[d] == "" {
			t.Errorf("duty %s has no Chinese name", d)
		}
	}
}

// TestPageWatchesUnopenedObjects: a partition assigns its page in one
// write and watches the inspection deadline for every object nobody has
// reported on, with one reminder and one escalation for the page; an
// object opened before the deadline watches its own, and one opened after
// takes the page's lapse with it and resolves it.
func TestPageWatchesUnopenedObjects(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1", "K2", "K3"}}})
	h.at(start.Add(2*time.Hour), func() { h.update("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer}) })
	inspect := map[string]time.Time{
		"K1": time.Date(2026, 3, 12, 17, 0, 0, 0, china), // before the deadline of 3/20
		"K2": time.Date(2026, 3, 24, 17, 0, 0, 0, china), // after it
		"K3": time.Date(2026, 4, 2, 17, 0, 0, 0, china),
	}
	for k, at := range inspect {
		id := ObjectWorkflowID("B1", k)
		h.at(at, func() { h.update(id, UpdateInspected, Inspected{CompletedOn: workday.DateOf(at), By: inspector}) })
		h.at(at.Add(time.Hour), func() {
			h.update(id, UpdateResult, inspection.Result{Code: "no_problem", Method: "on_site", EnteredBy: inspector})
		})
		h.at(at.Add(2*time.Hour), func() { h.update(id, UpdateReview, inspection.Review{Approve: true, Reviewer: officer}) })
	}
	snapshot := func() map[string]activities.TaskRecord {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		return maps.Clone(h.rec.tasks)
	}
	var assigned, lapsed map[string]activities.TaskRecord
	h.at(time.Date(2026, 3, 3, 9, 0, 0, 0, china), func() { assigned = snapshot() })
	h.at(time.Date(2026, 3, 23, 9, 0, 0, 0, china), func() { lapsed = snapshot() })
	h.env.ExecuteWorkflow(BatchWorkflow, lifecycle.BatchInput{BatchID: "B1", InspectionEnd: day("2026-03-20"), Policy: policy()})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	tracker := lifecycle.PartitionWorkflowID("B1", "330402", 0)
	for _, k := range []string{"K1", "K2", "K3"} {
		a := assigned[k]
		if a.Stage != inspection.Assigned || a.Seq != 1 || a.InspectionDue == nil || *a.InspectionDue != day("2026-03-20") || h.rec.trackers[k] != tracker {
			t.Errorf("%s after the match: %+v tracked by %q, want assigned (seq 1), due 2026-03-20, by %s", k, a, h.rec.trackers[k], tracker)
		}
	}
	if l := lapsed["K2"]; l.Seq != 2 || !slices.Equal(l.Overdue, []string{DutyInspection}) || lapsed["K1"].Stage != inspection.Closed {
		t.Errorf("on 3/23: K1 %+v, K2 %+v: want K1 closed and K2 overdue (seq 2)", lapsed["K1"], l)
	}
	var objects []string
	for _, l := range h.rec.lapses {
		if l.Duty != DutyInspection || l.Due != day("2026-03-20") {
			t.Errorf("lapse %+v", l)
		}
		objects = append(objects, l.ObjectKey)
	}
	slices.Sort(objects)
	if !slices.Equal(objects, []string{"K2", "K3"}) {
		t.Errorf("inspection lapses of %v, want K2 and K3 (K1 was inspected in time)", objects)
	}
	resolved := map[string]workday.Date{}
	for _, r := range h.rec.resolved {
		resolved[r.ObjectKey] = r.On
	}
	if len(h.rec.resolved) != 2 || resolved["K2"] != day("2026-03-24") || resolved["K3"] != day("2026-04-02") {
		t.Errorf("resolved = %+v", h.rec.resolved)
	}
	var pageReminders, objectReminders int
	for _, n := range h.rec.noticesOf("reminder") {
		switch {
		case strings.HasPrefix(n.ID, "reminder/B1/330402/part/0/inspection/"):
			pageReminders++
			if !strings.Contains(n.Body, "个检查对象未报告检查完成") {
				t.Errorf("page reminder %s: %s", n.ID, n.Body)
			}
		case strings.Contains(n.ID, "/inspection/"):
			objectReminders++
		}
	}
	if pageReminders == 0 || objectReminders != 0 {
		t.Errorf("%d page reminders and %d per object for the inspection; want the page's only", pageReminders, objectReminders)
	}
	if a := h.rec.noticesOf("assigned"); len(a) != 1 || !strings.Contains(a[0].Body, "已锁定分配 3 个检查对象") {
		t.Errorf("assigned notices: %+v, want one for the county's 3 objects", a)
	}
	var escalations []string
	for _, n := range h.rec.noticesOf("escalation") {
		escalations = append(escalations, n.ID+" "+n.Body)
	}
	want := []string{
		"escalation/B1/330402/part/0/inspection/2026-03-20/city_coordinator 批次 B1：330402 有 2 个检查对象未在 2026-03-20 前完成检查，已记入问责台账",
		"escalation/B1/330402/part/0/inspection/2026-03-20/county_head 批次 B1：330402 有 2 个检查对象未在 2026-03-20 前完成检查，已记入问责台账",
	}
	slices.Sort(escalations)
	if !slices.Equal(escalations, want) {
		t.Errorf("escalations:\n%s\nwant:\n%s", ids(escalations), ids(want))
	}
}

// TestOpenWaitsForItsPage: a report that arrives while the partition is
// still assigning its page (the task rows already read assigned) waits for
// the page instead of being refused.
func TestOpenWaitsForItsPage(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1"}}})
	h.assignPage.After(time.Hour)
	h.at(start.Add(2*time.Hour), func() { h.update("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer}) })
	tracker := lifecycle.PartitionWorkflowID("B1", "330402", 0)
	var openedAt time.Time
	h.at(start.Add(150*time.Minute), func() { // during the assignment
		if err := h.env.UpdateWorkflowByID(tracker, UpdateOpen, "open-early", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("open during the assignment refused: %v", err) },
			OnComplete: func(_ any, err error) {
				if err != nil {
					t.Errorf("open during the assignment failed: %v", err)
				}
				openedAt = h.env.Now()
			},
		}, "K1"); err != nil {
			t.Error(err)
		}
	})
	h.at(time.Date(2026, 3, 10, 17, 0, 0, 0, china), func() {
		h.update(ObjectWorkflowID("B1", "K1"), UpdateInspected, Inspected{CompletedOn: day("2026-03-10"), By: inspector})
	})
	h.resultAndApprove(time.Date(2026, 3, 12, 10, 0, 0, 0, china), time.Date(2026, 3, 13, 10, 0, 0, 0, china), "no_problem")
	p := h.run()
	if openedAt.Before(start.Add(3 * time.Hour)) {
		t.Errorf("opened at %s, before its page was assigned (%s)", openedAt, start.Add(3*time.Hour))
	}
	if p.Phase != "archived" || p.Total.Stages[inspection.Closed] != 1 {
		t.Errorf("final progress %+v", p.Total)
	}
}

// TestEntryArrivingWithTheOpen: the update that opened an object reaches
// its workflow with the start, and registering the handler runs it at
// once; the inspection deadline the partition handed over must be in place.
func TestEntryArrivingWithTheOpen(t *testing.T) {
	start := time.Date(2026, 3, 5, 10, 0, 0, 0, china)
	h := newHarness(t, start, nil)
	due := day("2026-03-20")
	opened := duty{Name: DutyInspection, Plan: activities.Plan{Due: &due}, RemindAt: policy().ReminderTime,
		Input: activities.PlanInput{Due: &due, ReminderOffsets: policy().ReminderOffsets}}
	var extended workday.Date
	h.at(start, func() {
		h.env.UpdateWorkflow(UpdateExtend, "u1", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("extension with the open refused: %v", err) },
			OnComplete: func(r any, err error) {
				if err != nil {
					t.Errorf("extension with the open failed: %v", err)
					return
				}
				extended, _ = r.(workday.Date)
			},
		}, Extension{Duty: DutyInspection, WorkingDays: 3, Reason: "企业停产检修", By: "coordinator:li"})
	})
	h.at(start.Add(time.Hour), h.env.CancelWorkflow)
	h.env.ExecuteWorkflow(ObjectWorkflow, ObjectInput{BatchID: "B1", County: "330402", ObjectKey: "K1", Team: []string{"I1"},
		InspectionEnd: due, Policy: policy(), Opened: &OpenedObject{Inspection: opened, Seq: 1}})
	// 2026-03-20 (a Friday) + 3 working days.
	if extended != day("2026-03-25") {
		t.Errorf("inspection due %v after the extension, want 2026-03-25", extended)
	}
}
