package telemetry

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestTemporalHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewTemporalHandler(reg).WithTags(map[string]string{"namespace": "default"})
	h.Counter("temporal_request").Inc(2)
	// A later use with other tags keeps the first label set.
	h.WithTags(map[string]string{"operation": "Poll"}).Counter("temporal_request").Inc(1)
	h.Gauge("temporal_num_pollers").Update(3)
	h.Timer("temporal_request_latency").Record(20 * time.Millisecond)
	// A second handler on the same registry reuses the collectors.
	NewTemporalHandler(reg).WithTags(map[string]string{"namespace": "other"}).Counter("temporal_request").Inc(5)

	want := `
# HELP temporal_request Temporal SDK counter temporal_request
# TYPE temporal_request counter
temporal_request{namespace="default"} 3
temporal_request{namespace="other"} 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "temporal_request"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "temporal_num_pollers", "temporal_request_latency_seconds"); err != nil || n != 2 {
		t.Errorf("count = %d, %v", n, err)
	}
}
