package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplaySavedHistories replays histories recorded from real runs on a
// Temporal server (cmd/spotcheck's end-to-end test writes them with
// SPOTCHECK_SAVE_HISTORIES=1). A change to the workflows that is not
// deterministic against them fails here, before it can break running
// batches; such a change needs workflow.GetVersion.
func TestReplaySavedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no saved histories in testdata/histories: run the end-to-end test with SPOTCHECK_SAVE_HISTORIES=1")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			for _, wf := range []any{BatchWorkflow, CountyWorkflow, PartitionWorkflow, ObjectWorkflow} {
				r.RegisterWorkflow(wf)
			}
			if _, err := os.Stat(f); err != nil {
				t.Fatal(err)
			}
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Errorf("replay %s: %v", f, err)
			}
		})
	}
}
