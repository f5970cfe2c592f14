package lifecycle

import "testing"

// Saved histories and running workflows carry these IDs: they must not drift.
func TestWorkflowIDs(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{BatchWorkflowID("b1"), "batch/b1"},
		{CountyWorkflowID("b1", "330402"), "batch/b1/county/330402"},
		{ObjectWorkflowID("b1", "k9"), "batch/b1/object/k9"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
