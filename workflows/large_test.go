package workflows

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
)

// BenchmarkTenThousandObjectBatch runs a batch of 10,000 objects over
// Jiaxing's nine county-level units to completion in the SDK's test
// environment: every county matches, every object is inspected, has its
// result entered and approved, and is published. Run with
// go test -run '^$' -bench TenThousand -benchtime 1x ./workflows
func BenchmarkTenThousandObjectBatch(b *testing.B) {
	counties := []string{"330402", "330411", "330421", "330424", "330481", "330482", "330483", "JXJK", "JXGQ"}
	total := 10000
	if n, err := strconv.Atoi(os.Getenv("SPOTCHECK_BATCH_OBJECTS")); err == nil && n > 0 {
		total = n // a smaller run to try changes quickly
	}
	for i := 0; i < b.N; i++ {
		shares := make([]activities.CountyShare, len(counties))
		for j := range counties {
			shares[j].County = counties[j]
		}
		for k := 0; k < total; k++ {
			c := k % len(counties)
			shares[c].Objects = append(shares[c].Objects, fmt.Sprintf("K%05d", k))
		}
		start := time.Date(2026, 3, 2, 9, 0, 0, 0, china)
		h := newHarness(b, start, shares)
		h.env.SetTestTimeout(30 * time.Minute)
		// The test environment queues at most 1,000 callbacks: updates go out
		// in slices of 50 objects, a minute apart.
		var all []ObjectInput
		for i, s := range shares {
			s := s
			officer := inspection.Actor{Role: "county_officer", County: s.County}
			// Counties match an hour apart, as they would in practice.
			h.at(start.Add(time.Duration(2+i)*time.Hour), func() { h.update(CountyWorkflowID("B1", s.County), UpdateMatch, MatchRequest{By: officer}) })
			for _, key := range s.Objects {
				all = append(all, ObjectInput{County: s.County, ObjectKey: key})
			}
		}
		steps := []struct {
			at   time.Time
			send func(o ObjectInput, by inspection.Actor)
		}{
			{time.Date(2026, 3, 10, 17, 0, 0, 0, china), func(o ObjectInput, by inspection.Actor) {
				h.update(ObjectWorkflowID("B1", o.ObjectKey), UpdateInspected, Inspected{CompletedOn: day("2026-03-10"), By: by})
			}},
			{time.Date(2026, 3, 12, 10, 0, 0, 0, china), func(o ObjectInput, by inspection.Actor) {
				h.update(ObjectWorkflowID("B1", o.ObjectKey), UpdateResult, inspection.Result{Code: "no_problem", Method: "on_site", EnteredBy: by})
			}},
			{time.Date(2026, 3, 13, 10, 0, 0, 0, china), func(o ObjectInput, by inspection.Actor) {
				h.update(ObjectWorkflowID("B1", o.ObjectKey), UpdateReview, inspection.Review{Approve: true, Reviewer: by})
			}},
		}
		for _, step := range steps {
			for i := 0; i < len(all); i += 50 {
				slice := all[i:min(i+50, len(all))]
				send := step.send
				h.at(step.at.Add(time.Duration(i/50)*time.Minute), func() {
					for _, o := range slice {
						send(o, inspection.Actor{Role: "county_officer", County: o.County})
					}
				})
			}
		}
		began := time.Now()
		h.env.ExecuteWorkflow(BatchWorkflow, lifecycle.BatchInput{BatchID: "B1", InspectionEnd: day("2026-04-30"), Policy: policy()})
		if err := h.env.GetWorkflowError(); err != nil {
			b.Fatal(err)
		}
		var p lifecycle.BatchProgress
		h.env.GetWorkflowResult(&p)
		if p.Total.Stages[inspection.Closed] != total || p.Phase != "archived" {
			b.Fatalf("progress %+v", p.Total)
		}
		b.ReportMetric(time.Since(began).Seconds(), "s/batch")
		b.Logf("%d objects, 9 counties: closed and archived in %s wall time; %d objects published", total, time.Since(began).Round(time.Millisecond), len(h.rec.published))
	}
}
