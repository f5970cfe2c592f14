package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// BenchmarkDrawToTracking measures, for batches of about 2,000 and 10,000
// objects over the nine counties, the time from the draw (the beacon) to
// every county notified and to every object's tracking started (its
// workflow running, its task assigned) — on the Temporal cluster of
// deploy/temporal and on the embedded dev server, in the same run, each
// with two `spotcheck worker` and two `spotcheck api` processes. Run it
// with bench/cluster/run.sh (it prints the load and the figures).
//
// Every county matches as soon as it is told, so "tracking started"
// includes nine matches. SPOTCHECK_BENCH_SIZES overrides the sizes (the
// number of projects the batch should draw, comma-separated).
func BenchmarkDrawToTracking(b *testing.B) {
	sizes := []int{2000, 10000}
	if v := os.Getenv("SPOTCHECK_BENCH_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatalf("SPOTCHECK_BENCH_SIZES: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	for _, backend := range []string{"cluster", "devserver"} {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%d", backend, n), func(b *testing.B) {
				for range b.N {
					addr := ""
					if backend == "cluster" {
						addr = startTemporalCluster(b, ctx, 4).addr
					} else {
						addr = testenv.TemporalAddress(b)
					}
					// About 21% of the demo's objects are land-reclamation
					// projects, the population of ZR-01.
					s := startCluster(b, ctx, n*100/21, addr, 2, 2)
					id := testenv.UniqueID("BENCH")
					run := s.runBatch(id, jiaxing, false, batchHooks{})
					var keys []string
					s.db.SelectContext(ctx, &keys, `SELECT object_key FROM tasks WHERE batch_id = $1 ORDER BY object_key LIMIT 20`, id)
					who, events, err := largestHistory(ctx, addr, id, keys)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(run.drawn), "objects")
					b.ReportMetric(run.notified.Seconds(), "s-to-notified")
					b.ReportMetric(run.tracking.Seconds(), "s-to-tracking")
					b.ReportMetric(float64(events), "max-history-events")
					b.Logf("%s: %d objects drawn; draw → every county notified %s, → every object tracked %s; longest history %d events (%s)",
						backend, run.drawn, run.notified.Round(time.Millisecond), run.tracking.Round(time.Millisecond), events, who)
				}
			})
		}
	}
}
