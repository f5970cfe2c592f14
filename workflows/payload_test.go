package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
)

// sizing records the largest encoded payload of each Go type that passes
// through Temporal: workflow inputs and results, activity inputs and
// results, signals, continue-as-new state.
type sizing struct {
	converter.DataConverter
	mu  sync.Mutex
	max map[string]int
}

func (s *sizing) note(v any, p *commonpb.Payload) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := reflect.TypeOf(v).String()
	if n := len(p.GetData()); n > s.max[name] {
		s.max[name] = n
	}
}

func (s *sizing) ToPayload(v any) (*commonpb.Payload, error) {
	p, err := s.DataConverter.ToPayload(v)
	if err == nil && v != nil {
		s.note(v, p)
	}
	return p, err
}

func (s *sizing) ToPayloads(vs ...any) (*commonpb.Payloads, error) {
	ps, err := s.DataConverter.ToPayloads(vs...)
	if err == nil {
		for i, v := range vs {
			if v != nil {
				s.note(v, ps.Payloads[i])
			}
		}
	}
	return ps, err
}

// payloadBound is the largest payload any workflow of a batch may carry,
// whatever the batch: a page of 500 objects with their teams.
const payloadBound = 64 << 10

// A batch's workflows carry references, not its objects. A batch of 1,000
// and one of 10,000 objects run to their archive (each object's own
// workflow a stand-in that closes its task at once: what is measured is
// everything around it): no payload may grow with the batch.
func TestPayloadsDoNotGrowWithTheBatch(t *testing.T) {
	small := batchPayloads(t, 1000)
	large := batchPayloads(t, 10000)
	for _, name := range sortedKeys(large) {
		t.Logf("%-36s 1,000 objects: %6d B   10,000 objects: %6d B", name, small[name], large[name])
		if large[name] > payloadBound {
			t.Errorf("%s: %d B at 10,000 objects, over the %d B of a page", name, large[name], payloadBound)
		}
		// A page fills up as counties grow: bounded by the page, not
		// by the batch.
		if large[name] > small[name]+256 && !pageTypes[name] {
			t.Errorf("%s grows with the batch: %d B at 1,000 objects, %d B at 10,000", name, small[name], large[name])
		}
	}
	for _, name := range []string{"workflows.CountyInput", "workflows.PartitionInput", "[]activities.CountyShare", "[]staffing.ObjectTeam", "stats.CountyProgress", "inspection.PageAssignment", "workflows.ObjectInput", "staffing.MatchResult"} {
		if large[name] == 0 {
			t.Errorf("no %s was seen: the test no longer measures the by-reference path", name)
		}
	}
}

// One county of 100,000 objects (more than the largest county of a
// province's batch of 100,000) starts its tracking and closes within the
// bound: its input, its partitions' inputs, its progress and its state
// across continue-as-new do not grow. Its partitions are stand-ins that
// close their page at once (the batch test above runs the real ones).
func TestCountyOf100000Objects(t *testing.T) {
	const total = 100000
	share := activities.CountyShare{County: "330402"}
	for k := range total {
		share.Objects = append(share.Objects, fmt.Sprintf("K%06d", k))
	}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china)
	h := newHarness(t, start, []activities.CountyShare{share})
	h.env.SetTestTimeout(5 * time.Minute)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: CountyWorkflowID("B1", share.County)})
	sizes := &sizing{DataConverter: converter.GetDefaultDataConverter(), max: map[string]int{}}
	h.env.SetDataConverter(sizes)
	// The batch workflow is not running here: its progress reports land nowhere.
	h.env.OnSignalExternalWorkflow(mock.Anything, BatchWorkflowID("B1"), "", signalCountyUpdate, mock.Anything).Return(nil)
	var partitions int
	h.env.OnWorkflow(PartitionWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in PartitionInput) error {
		page, _ := h.matcher.TeamsPage(context.Background(), staffing.TeamsPageInput{BatchID: in.BatchID, County: in.County, Page: in.Page, Size: in.Size})
		h.rec.mu.Lock()
		partitions++
		for _, o := range page {
			h.rec.tasks[o.ObjectKey] = activities.TaskRecord{BatchID: in.BatchID, ObjectKey: o.ObjectKey, County: in.County, Seq: 1, Stage: inspection.Closed}
		}
		h.rec.mu.Unlock()
		ev := StageEvent{ObjectKey: page[len(page)-1].ObjectKey, Stage: inspection.Closed}
		return workflow.SignalExternalWorkflow(ctx, CountyWorkflowID(in.BatchID, in.County), "", signalObjectStage, ev).Get(ctx, nil)
	})
	h.at(start.Add(time.Hour), func() { h.update(CountyWorkflowID("B1", share.County), UpdateMatch, MatchRequest{By: officer}) })
	h.env.ExecuteWorkflow(CountyWorkflow, CountyInput{BatchID: "B1", County: share.County, Count: total, InspectionEnd: day("2026-04-30"), Policy: policy()})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := (total + maxObjectsPerWorker - 1) / maxObjectsPerWorker; partitions != want {
		t.Errorf("%d partitions started, want %d", partitions, want)
	}
	for _, name := range []string{"workflows.CountyInput", "workflows.PartitionInput", "stats.CountyProgress"} {
		t.Logf("%-24s %6d B at %d objects", name, sizes.max[name], total)
		if n := sizes.max[name]; n == 0 || n > payloadBound {
			t.Errorf("%s: %d B at %d objects (bound %d B)", name, n, total, payloadBound)
		}
	}
	// What the county carries across continue-as-new, tracking all of them.
	c := newCountyRun(CountyInput{BatchID: "B1", County: share.County, Count: total})
	c.phase, c.last = "tracking", &lifecycle.CountyProgress{County: share.County, Stages: map[inspection.Stage]int{inspection.Assigned: total}, Overdue: map[string]int{DutyInspection: total}}
	state, err := json.Marshal(c.snapshot())
	if err != nil || len(state) > 1024 {
		t.Errorf("continue-as-new state of %d objects: %d B %v", total, len(state), err)
	}
}

// pageTypes carry a page of objects: they fill up as counties grow, to
// at most a page.
var pageTypes = map[string]bool{"[]staffing.ObjectTeam": true, "inspection.PageAssignment": true}

func batchPayloads(t *testing.T, total int) map[string]int {
	counties := []string{"330402", "330411", "330421", "330424", "330481", "330482", "330483", "JXJK", "JXGQ"}
	shares := make([]activities.CountyShare, len(counties))
	for i := range counties {
		shares[i].County = counties[i]
	}
	for k := 0; k < total; k++ {
		c := k % len(counties)
		shares[c].Objects = append(shares[c].Objects, fmt.Sprintf("K%06d", k))
	}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, china)
	h := newHarness(t, start, shares)
	h.env.SetTestTimeout(10 * time.Minute)
	sizes := &sizing{DataConverter: converter.GetDefaultDataConverter(), max: map[string]int{}}
	h.env.SetDataConverter(sizes)
	rec := h.rec
	h.env.OnWorkflow(ObjectWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in ObjectInput) error {
		rec.mu.Lock()
		rec.tasks[in.ObjectKey] = activities.TaskRecord{BatchID: in.BatchID, ObjectKey: in.ObjectKey, County: in.County, Seq: 1, Stage: inspection.Closed}
		rec.mu.Unlock()
		ev := StageEvent{ObjectKey: in.ObjectKey, Stage: inspection.Closed}
		return workflow.SignalExternalWorkflow(ctx, CountyWorkflowID(in.BatchID, in.County), "", signalObjectStage, ev).Get(ctx, nil)
	})
	for i, c := range counties {
		officer := inspection.Actor{Role: "county_officer", County: c}
		h.at(start.Add(time.Duration(2+i)*time.Hour), func() { h.update(CountyWorkflowID("B1", c), UpdateMatch, MatchRequest{By: officer}) })
	}
	// Every object is reported on over the next days, 50 a minute: its
	// partition opens it. (The test environment's callback queue holds
	// 1,000: more at once would stall it.)
	var open func()
	open = func() {
		rec.mu.Lock()
		var next []string
		for _, k := range sortedKeys(rec.trackers) {
			if !rec.opened[k] && len(next) < 50 {
				next = append(next, k)
				rec.opened[k] = true
			}
		}
		trackers := maps.Clone(rec.trackers)
		rec.mu.Unlock()
		for _, k := range next {
			h.update(trackers[k], UpdateOpen, k)
		}
		if len(next) > 0 {
			h.env.RegisterDelayedCallback(open, time.Minute)
		}
	}
	h.at(start.Add(24*time.Hour), open)
	h.env.ExecuteWorkflow(BatchWorkflow, lifecycle.BatchInput{BatchID: "B1", InspectionEnd: day("2026-04-30"), Policy: policy()})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var p lifecycle.BatchProgress
	if err := h.env.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	if p.Phase != "archived" || p.Total.Stages[inspection.Closed] != total || p.Total.Objects != total {
		t.Fatalf("%d objects: final progress %+v", total, p.Total)
	}
	return sizes.max
}
