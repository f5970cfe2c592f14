package fault

import (
	"fmt"
	"strings"
	"testing"
)

func TestKindThroughWrapping(t *testing.T) {
	err := fmt.Errorf("update object: %w", New(PreconditionFailed, "object %s changed since version %d", "X", 3))
	if KindOf(err) != PreconditionFailed {
		t.Errorf("kind = %v", KindOf(err))
	}
	if KindOf(fmt.Errorf("plain")) != 0 {
		t.Error("plain error classified")
	}
	if e, ok := As(err); !ok || e.Msg != "object X changed since version 3" {
		t.Errorf("As = %v, %v", e, ok)
	}
}

func TestProblemsInMessage(t *testing.T) {
	var ps []Problem
	for i := 1; i <= 7; i++ {
		ps = append(ps, Problem{Row: i + 1, Column: "统一社会信用代码", Message: "check character wrong"})
	}
	err := Invalids("the file has 7 errors", ps)
	s := err.Error()
	if !strings.Contains(s, "row 2, column 统一社会信用代码: check character wrong") || !strings.Contains(s, "and 2 more") {
		t.Errorf("message = %s", s)
	}
	if Invalids("none", nil) != nil {
		t.Error("no problems should be no error")
	}
	if f := Field("ratio", "%q is above 1", "1.5"); f.Error() != `invalid ratio; ratio: "1.5" is above 1` || f.Problems[0].Field != "ratio" {
		t.Errorf("Field = %v", f)
	}
}
