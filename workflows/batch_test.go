package workflows

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// china is UTC+8, the zone of every civil date in the rules.
var china = time.FixedZone("CST", 8*3600)

func day(s string) workday.Date {
	d, err := workday.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// fakeSteps is the draw sequence over a fixed drawn list.
type fakeSteps struct {
	mu      sync.Mutex
	shares  []activities.CountyShare
	beacons []string
	closed  []string
}

func (f *fakeSteps) Freeze(context.Context, string) error { return nil }
func (f *fakeSteps) Draw(_ context.Context, _ string, beacon string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beacons = append(f.beacons, beacon)
	return nil
}
func (f *fakeSteps) Lock(context.Context, string) ([]activities.CountyShare, error) {
	return f.shares, nil
}
func (f *fakeSteps) LockCounties(context.Context, string) ([]activities.CountyShare, error) {
	counts := make([]activities.CountyShare, len(f.shares))
	for i, s := range f.shares {
		counts[i] = activities.CountyShare{County: s.County, Count: len(s.Objects)}
	}
	return counts, nil
}
func (f *fakeSteps) PublishSummary(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = append(f.closed, "summary:"+id)
	return nil
}
func (f *fakeSteps) Archive(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = append(f.closed, "archive:"+id)
	return nil
}

// fakeMatcher gives every object the team [I1, I2] unless told to fail.
type fakeMatcher struct {
	mu         sync.Mutex
	calls      []staffing.MatchInput
	infeasible bool
	shares     []activities.CountyShare
	// setAside are objects the county set aside before staffing.
	setAside map[string]bool
}

func (m *fakeMatcher) MatchCounty(_ context.Context, in staffing.MatchInput) (staffing.MatchResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, in)
	if m.infeasible {
		return staffing.MatchResult{}, &fault.Error{Kind: fault.Conflict, Msg: "2 objects cannot be staffed", Details: []string{"X"}}
	}
	teams := map[string][]string{}
	for _, s := range m.shares {
		if s.County == in.County {
			for _, k := range s.Objects {
				if !m.setAside[k] {
					teams[k] = []string{"I1", "I2"}
				}
			}
		}
	}
	var aside []string
	for k := range m.setAside {
		aside = append(aside, k)
	}
	sort.Strings(aside)
	return staffing.MatchResult{Teams: teams, Round: 1, SetAside: aside}, nil
}

// TeamsPage reads the teams MatchCounty gave, a page at a time, in drawn
// order, as the database would.
func (m *fakeMatcher) TeamsPage(_ context.Context, in staffing.TeamsPageInput) ([]staffing.ObjectTeam, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var matched []staffing.ObjectTeam
	for _, s := range m.shares {
		if s.County != in.County {
			continue
		}
		for _, k := range s.Objects {
			if !m.setAside[k] {
				matched = append(matched, staffing.ObjectTeam{ObjectKey: k, Team: []string{"I1", "I2"}})
			}
		}
	}
	from := min(in.Page*in.Size, len(matched))
	return matched[from:min(from+in.Size, len(matched))], nil
}

// fakeCounters counts progress from what the workflows recorded, as the
// database's counters do: an object without a task row awaits its match.
type fakeCounters struct {
	shares  []activities.CountyShare
	matcher *fakeMatcher
	rec     *recorder
}

func (f *fakeCounters) Progress(_ context.Context, batchID, county string) (stats.Progress, error) {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	f.matcher.mu.Lock()
	defer f.matcher.mu.Unlock()
	p := stats.Progress{BatchID: batchID}
	for _, s := range f.shares {
		if county != "" && s.County != county {
			continue
		}
		c := stats.CountyProgress{County: s.County, Objects: len(s.Objects), Stages: map[inspection.Stage]int{}, Overdue: map[string]int{}}
		for _, k := range s.Objects {
			r, ok := f.rec.tasks[k]
			switch {
			case f.matcher.setAside[k]:
				c.Stages[inspection.SetAside]++
			case ok:
				c.Stages[r.Stage]++
			default:
				c.Stages[inspection.AwaitingMatch]++
			}
			for _, d := range r.Overdue {
				c.Overdue[d]++
			}
		}
		p.Counties = append(p.Counties, c)
	}
	return p, nil
}

// recorder captures what the workflows wrote and sent.
type recorder struct {
	mu        sync.Mutex
	notices   []notify.Notification
	lapses    []activities.Lapse
	resolved  []activities.Resolution
	tasks     map[string]activities.TaskRecord
	published []string
	// trackers names the partition that tracks each unopened object.
	trackers map[string]string
	opened   map[string]bool
}

func (r *recorder) noticesOf(kind string) []notify.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []notify.Notification
	for _, n := range r.notices {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

type harness struct {
	t            testing.TB
	env          *testsuite.TestWorkflowEnvironment
	steps        *fakeSteps
	matcher      *fakeMatcher
	rec          *recorder
	publishFails bool
	updates      int
	// assignPage is the page assignment's mock: a test may delay it.
	assignPage *testsuite.MockCallWrapper
}

func newHarness(t testing.TB, start time.Time, shares []activities.CountyShare) *harness {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetTestTimeout(time.Minute)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: BatchWorkflowID("B1")})
	h := &harness{t: t, env: env, steps: &fakeSteps{shares: shares}, matcher: &fakeMatcher{shares: shares},
		rec: &recorder{tasks: map[string]activities.TaskRecord{}, trackers: map[string]string{}, opened: map[string]bool{}}}
	for _, w := range []any{BatchWorkflow, CountyWorkflow, PartitionWorkflow, ObjectWorkflow} {
		env.RegisterWorkflow(w)
	}
	env.RegisterActivity(&activities.Batches{Steps: h.steps, Closing: h.steps})
	env.RegisterActivity(&activities.Matching{Matcher: h.matcher, Teams: h.matcher})
	env.RegisterActivity(&activities.Progress{Reader: &fakeCounters{shares: shares, matcher: h.matcher, rec: h.rec}})
	// The real calendar: deadlines must land on the official working days.
	env.RegisterActivity(&activities.Deadlines{Calendars: activities.StaticCalendar{Cal: workday.Default()}})
	env.RegisterActivity(&activities.Tasks{})
	env.RegisterActivity(&activities.Notifier{})

	rec := h.rec
	env.OnActivity(tasks.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.TaskRecord) error {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if old, ok := rec.tasks[r.ObjectKey]; !ok || old.Seq < r.Seq {
			rec.tasks[r.ObjectKey] = r
		}
		return nil
	})
	h.assignPage = env.OnActivity(tasks.AssignPage, mock.Anything, mock.Anything).Return(func(_ context.Context, a activities.PageAssignment) error {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, k := range a.Keys {
			if old, ok := rec.tasks[k]; !ok || old.Seq < a.Seq {
				rec.tasks[k] = activities.TaskRecord{BatchID: a.BatchID, ObjectKey: k, County: a.County, Seq: a.Seq, Stage: inspection.Assigned,
					Team: []string{"I1", "I2"}, InspectionDue: a.InspectionDue, UnscheduledYear: a.UnscheduledYear, Overdue: []string{}}
			}
			rec.trackers[k] = a.Tracker
		}
		return nil
	})
	env.OnActivity(tasks.OpenPageAccountability, mock.Anything, mock.Anything).Return(func(_ context.Context, l activities.PageLapse) error {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, k := range l.Keys {
			rec.lapses = append(rec.lapses, activities.Lapse{BatchID: l.BatchID, ObjectKey: k, County: l.County, Duty: l.Duty, Due: l.Due, At: l.At})
			if r := rec.tasks[k]; r.Seq < l.Seq {
				r.Seq, r.Overdue = l.Seq, []string{l.Duty}
				rec.tasks[k] = r
			}
		}
		return nil
	})
	for _, a := range []any{tasks.SaveResult, tasks.SaveReview, tasks.SaveFollowUp, tasks.SaveExtension, tasks.SaveTransfer} {
		env.OnActivity(a, mock.Anything, mock.Anything).Return(nil)
	}
	env.OnActivity(tasks.Publish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PublishInput) error {
		if h.publishFails {
			return errors.New("disclosure site down")
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.published = append(rec.published, in.ObjectKey+"@"+in.At.In(china).Format("2006-01-02"))
		return nil
	})
	env.OnActivity(tasks.OpenAccountability, mock.Anything, mock.Anything).Return(func(_ context.Context, l activities.Lapse) error {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.lapses = append(rec.lapses, l)
		return nil
	})
	env.OnActivity(tasks.ResolveAccountability, mock.Anything, mock.Anything).Return(func(ctx context.Context, r activities.Resolution) (int, error) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.resolved = append(rec.resolved, r)
		late, err := workday.Default().WorkingDaysBetween(r.Due, r.On)
		return late, err
	})
	env.OnActivity(notifier.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, n notify.Notification) (activities.NotifyResult, error) {
		if err := n.Validate(); err != nil {
			t.Errorf("invalid notification %s: %v", n.ID, err)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.notices = append(rec.notices, n)
		return activities.NotifyResult{}, nil
	})
	return h
}

// at runs f when the workflow clock reaches t (China time).
func (h *harness) at(t time.Time, f func()) {
	h.env.RegisterDelayedCallback(f, t.Sub(h.env.Now()))
}

func (h *harness) nextID() string {
	h.updates++
	return fmt.Sprintf("u%d", h.updates)
}

// send delivers an update as the API does: an object nobody has reported
// on yet is first opened by the partition that tracks it.
func (h *harness) send(id, name string, cb *testsuite.TestUpdateCallback, arg any) error {
	err := h.env.UpdateWorkflowByID(id, name, h.nextID(), cb, arg)
	key, isObject := strings.CutPrefix(id, ObjectWorkflowID("B1", ""))
	h.rec.mu.Lock()
	tracker := h.rec.trackers[key]
	h.rec.mu.Unlock()
	var notFound *serviceerror.NotFound
	if !isObject || tracker == "" || !errors.As(err, &notFound) {
		return err
	}
	return h.env.UpdateWorkflowByID(tracker, UpdateOpen, h.nextID(), &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { h.t.Errorf("open %s: %v", key, err) },
		OnComplete: func(_ any, err error) {
			if err != nil {
				h.t.Errorf("open %s: %v", key, err)
				return
			}
			if err := h.env.UpdateWorkflowByID(id, name, h.nextID(), cb, arg); err != nil {
				h.t.Errorf("%s %s after opening it: %v", id, name, err)
			}
		},
	}, key)
}

func (h *harness) update(id, name string, arg any) {
	h.t.Helper()
	err := h.send(id, name, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { h.t.Errorf("%s %s rejected: %v", id, name, err) },
		OnComplete: func(_ any, err error) {
			if err != nil {
				h.t.Errorf("%s %s failed: %v", id, name, err)
			}
		},
	}, arg)
	if err != nil {
		h.t.Errorf("%s %s: %v", id, name, err)
	}
}

func (h *harness) rejected(id, name string, arg any, want string) {
	h.t.Helper()
	_ = h.send(id, name, &testsuite.TestUpdateCallback{
		OnAccept: func() { h.t.Errorf("%s %s accepted, want rejection %q", id, name, want) },
		OnReject: func(err error) {
			if !strings.Contains(err.Error(), want) {
				h.t.Errorf("%s %s rejected with %v, want %q", id, name, err, want)
			}
		},
		OnComplete: func(any, error) {},
	}, arg)
}

var (
	officer   = inspection.Actor{Role: "county_officer", County: "330402", Name: "王科长"}
	inspector = inspection.Actor{Role: "inspector", InspectorKey: "I1"}
)

func policy() lifecycle.Policy {
	p := lifecycle.DefaultPolicy()
	p.BeaconWait = time.Hour
	return p
}

// TestBatchOnTime runs a batch whose every duty is met on time: beacon,
// county match, inspection, result, review, publication, archive.
func TestBatchOnTime(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china) // a Monday
	h := newHarness(t, start, []activities.CountyShare{
		{County: "330402", Objects: []string{"K1", "K2"}},
		{County: "330411", Objects: []string{"K3"}},
	})
	h.at(start.Add(10*time.Minute), func() { h.update("batch/B1", UpdateBeacon, "witness-a|witness-b") })
	h.at(start.Add(2*time.Hour), func() {
		h.update("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer})
		h.update("batch/B1/county/330411", UpdateMatch, MatchRequest{By: inspection.Actor{Role: "county_officer", County: "330411"}})
	})
	h.at(start.Add(3*time.Hour), func() {
		h.rejected("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer}, "are already matched (the county is matched, with its inspections under way)")
	})
	inspectedOn := day("2026-03-10")
	for _, k := range []struct{ key, county string }{{"K1", "330402"}, {"K2", "330402"}, {"K3", "330411"}} {
		k := k
		by := inspection.Actor{Role: "county_officer", County: k.county}
		id := ObjectWorkflowID("B1", k.key)
		h.at(time.Date(2026, 3, 10, 17, 0, 0, 0, china), func() { h.update(id, UpdateInspected, Inspected{CompletedOn: inspectedOn, By: by}) })
		h.at(time.Date(2026, 3, 12, 10, 0, 0, 0, china), func() {
			h.update(id, UpdateResult, inspection.Result{Code: "no_problem", Method: "on_site", EnteredBy: by})
		})
		h.at(time.Date(2026, 3, 13, 10, 0, 0, 0, china), func() {
			h.update(id, UpdateReview, inspection.Review{Approve: true, Reviewer: by})
		})
	}
	var progress lifecycle.BatchProgress
	h.at(time.Date(2026, 3, 12, 12, 0, 0, 0, china), func() {
		v, err := h.env.QueryWorkflow(QueryProgress)
		if err != nil {
			t.Fatal(err)
		}
		v.Get(&progress)
	})
	h.env.ExecuteWorkflow(BatchWorkflow, lifecycle.BatchInput{BatchID: "B1", InspectionEnd: day("2026-04-30"), Policy: policy()})

	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var final lifecycle.BatchProgress
	h.env.GetWorkflowResult(&final)
	if final.Phase != "archived" || final.Total.Stages[inspection.Closed] != 3 || len(final.Counties) != 2 {
		t.Errorf("final progress = %+v", final)
	}
	if progress.Total.Stages[inspection.ResultEntered] != 3 {
		t.Errorf("progress on 3/12 noon = %+v, want 3 results entered", progress.Total)
	}
	if got := h.steps.beacons; len(got) != 1 || got[0] != "witness-a|witness-b" {
		t.Errorf("draw beacons = %v", got)
	}
	if got := strings.Join(h.steps.closed, ","); got != "summary:B1,archive:B1" {
		t.Errorf("closing steps = %s", got)
	}
	if len(h.rec.lapses) != 0 || len(h.rec.noticesOf("escalation")) != 0 {
		t.Errorf("on-time batch escalated: %v", h.rec.lapses)
	}
	sort.Strings(h.rec.published)
	if got := strings.Join(h.rec.published, ","); got != "K1@2026-03-13,K2@2026-03-13,K3@2026-03-13" {
		t.Errorf("published = %s", got)
	}
	r := h.rec.tasks["K1"]
	if r.Stage != inspection.Closed || r.ResultDue == nil || *r.ResultDue != day("2026-03-31") {
		t.Errorf("task K1 = %+v (result due 2026-03-10 + 15 working days = 2026-03-31)", r)
	}
	if n := len(h.rec.noticesOf("assigned")); n != 2 {
		t.Errorf("%d assignment notices, want one per county", n)
	}
}

// An object's short writes run as local activities, in the workflow task
// that asks for them; publication, which may take days to succeed, stays
// an activity of its own.
func TestObjectWritesRunLocally(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china) // a Monday
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1"}}})
	var mu sync.Mutex
	local, remote := map[string]int{}, map[string]int{}
	count := func(m map[string]int, info *activity.Info) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(info.WorkflowExecution.ID, "batch/B1/object/") {
			m[info.ActivityType.Name]++
		}
	}
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) { count(local, info) })
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) { count(remote, info) })
	h.at(start.Add(10*time.Minute), func() { h.update("batch/B1", UpdateBeacon, "witness") })
	h.at(start.Add(2*time.Hour), func() { h.update("batch/B1/county/330402", UpdateMatch, MatchRequest{By: officer}) })
	id := ObjectWorkflowID("B1", "K1")
	h.at(time.Date(2026, 3, 10, 17, 0, 0, 0, china), func() { h.update(id, UpdateInspected, Inspected{CompletedOn: day("2026-03-10"), By: officer}) })
	h.at(time.Date(2026, 3, 12, 10, 0, 0, 0, china), func() {
		h.update(id, UpdateResult, inspection.Result{Code: "no_problem", Method: "on_site", EnteredBy: officer})
	})
	h.at(time.Date(2026, 3, 13, 10, 0, 0, 0, china), func() { h.update(id, UpdateReview, inspection.Review{Approve: true, Reviewer: officer}) })
	h.env.ExecuteWorkflow(BatchWorkflow, lifecycle.BatchInput{BatchID: "B1", InspectionEnd: day("2026-04-30"), Policy: policy()})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// After the row the partition wrote: inspected, result entered,
	// approved, published and closed, and a row for each deadline planned
	// (result entry, publication).
	want := map[string]int{"Record": 7, "SaveResult": 1, "SaveReview": 1, "Plan": 2}
	for name, n := range want {
		if local[name] != n {
			t.Errorf("%s ran %d times as a local activity, want %d (local %v)", name, local[name], n, local)
		}
	}
	if len(remote) != 1 || remote["Publish"] != 1 {
		t.Errorf("the object ran %v as activities, want only Publish once", remote)
	}
}

// A county by reference that continued as new right after its last
// objects' moves recounts at once in its next run and finishes: the moves
// themselves are not carried, only that there was news.
func TestCountyResumedAfterItsLastMovesFinishes(t *testing.T) {
	start := time.Date(2026, 3, 20, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{{County: "330402", Objects: []string{"K1", "K2"}}})
	h.env.SetTestTimeout(15 * time.Second)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: CountyWorkflowID("B1", "330402")})
	for _, k := range []string{"K1", "K2"} {
		h.rec.tasks[k] = activities.TaskRecord{ObjectKey: k, County: "330402", Stage: inspection.Closed}
	}
	// The run before counted one object closed; the last close arrived
	// with the suggestion to continue as new.
	in := CountyInput{BatchID: "B1", County: "330402", Count: 2, InspectionEnd: day("2026-04-30"), Policy: policy()}
	c := newCountyRun(in)
	c.phase = "tracking"
	c.last = &lifecycle.CountyProgress{County: "330402", Objects: 2, Stages: map[inspection.Stage]int{inspection.Closed: 1, inspection.Published: 1}}
	c.apply(StageEvent{ObjectKey: "K2", Stage: inspection.Closed})
	in.Resume = c.snapshot()
	var reports []lifecycle.CountyProgress
	h.env.OnSignalExternalWorkflow(mock.Anything, BatchWorkflowID("B1"), "", signalCountyUpdate, mock.Anything).Return(
		func(_, _, _, _ string, p any) error {
			reports = append(reports, p.(lifecycle.CountyProgress))
			return nil
		})
	h.env.ExecuteWorkflow(CountyWorkflow, in)
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("the resumed county did not finish: %v", err)
	}
	if n := len(reports); n == 0 || !reports[n-1].Done || reports[n-1].Stages[inspection.Closed] != 2 {
		t.Errorf("the county reported %+v, want its end with both objects closed", reports)
	}
}

// Every phase a batch or county workflow enters has words for messages.
func TestPhaseWords(t *testing.T) {
	src := ""
	for _, f := range []string{"batch.go", "batchrun.go", "countyrun.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src += string(b)
	}
	phases := regexp.MustCompile(`(?:\bphase = |Phase: |phase: )"([a-z_]+)"`).FindAllStringSubmatch(src, -1)
	if len(phases) < 8 {
		t.Fatalf("found only %d phase assignments", len(phases))
	}
	for _, m := range phases {
		if phaseWords[m[1]] == "" {
			t.Errorf("phase %q has no words in phaseWords", m[1])
		}
	}
}
