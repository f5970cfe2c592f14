package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// newDBHandler is the API on the package's test database.
func newDBHandler(t *testing.T) http.Handler {
	t.Helper()
	return asAdmin(testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(testenv.DB(t), nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}}))
}

// sendJSON sends body as the request body with headers given as name,
// value pairs.
func sendJSON(h http.Handler, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// wantStatus fails unless rec has status, and decodes its body into v.
func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("%v: %s", err, rec.Body)
		}
	}
}

// wantProblem fails unless rec is a problem of status that names every
// field and contains every fragment.
func wantProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, fields []string, fragments ...string) {
	t.Helper()
	var p Problem
	wantStatus(t, rec, status, &p)
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), problemContentType) {
		t.Errorf("content type %q", rec.Header().Get("Content-Type"))
	}
	for _, f := range fields {
		found := false
		for _, e := range p.Errors {
			found = found || e.Field == f
		}
		if !found {
			t.Errorf("problem does not name field %s: %s", f, rec.Body)
		}
	}
	for _, frag := range fragments {
		if !strings.Contains(rec.Body.String(), frag) {
			t.Errorf("problem does not say %q: %s", frag, rec.Body)
		}
	}
}

type yearBody struct {
	Year               int      `json:"year"`
	Source             string   `json:"source"`
	Revision           int64    `json:"revision"`
	UpdatedBy          string   `json:"updated_by"`
	HolidayCount       int      `json:"holiday_count"`
	MakeupWorkdayCount int      `json:"makeup_workday_count"`
	Holidays           []string `json:"holidays"`
	MakeupWorkdays     []string `json:"makeup_workdays"`
}

func TestCalendarYearsAPI(t *testing.T) {
	h := newDBHandler(t)
	db := testenv.DB(t)
	t.Cleanup(func() { db.Exec(`DELETE FROM calendar_years WHERE year IN (2031, 2032)`) })

	var list struct{ Items []yearBody }
	wantStatus(t, sendJSON(h, "GET", "/api/v1/calendar/years", ""), 200, &list)
	if len(list.Items) < 3 || list.Items[1].Year != 2025 || list.Items[1].HolidayCount != 28 || list.Items[1].MakeupWorkdayCount != 5 {
		t.Errorf("years %+v", list.Items)
	}
	var y2025 yearBody
	rec := sendJSON(h, "GET", "/api/v1/calendar/years/2025", "")
	wantStatus(t, rec, 200, &y2025)
	if len(y2025.Holidays) != 28 || y2025.Holidays[0] != "2025-01-01" || y2025.MakeupWorkdays[4] != "2025-10-11" || rec.Header().Get("ETag") == "" {
		t.Errorf("2025: %+v, ETag %q", y2025, rec.Header().Get("ETag"))
	}
	wantProblem(t, sendJSON(h, "GET", "/api/v1/calendar/years/1999", ""), 404, nil, "1999")
	wantProblem(t, sendJSON(h, "GET", "/api/v1/calendar/years/next", ""), 400, []string{"year"})

	// Bad input is refused whole, each bad date named, and nothing is stored.
	wantProblem(t, sendJSON(h, "PUT", "/api/v1/calendar/years/2031", `{"holidays": ["2031-01-01", "2031-02-30", "31-10-01"], "makeup_workdays": ["2031-01-05"]}`),
		400, []string{"holidays[1]", "holidays[2]"}, "2031-02-30", "31-10-01")
	wantProblem(t, sendJSON(h, "PUT", "/api/v1/calendar/years/2031", `{"holidays": ["2031-01-01", "2032-01-01"], "makeup_workdays": ["2031-01-08", "2031-01-01"]}`),
		400, []string{"holidays", "makeup_workdays"}, "2032-01-01 is not in 2031", "2031-01-08 is a Wednesday", "2031-01-01 is listed both")
	wantProblem(t, sendJSON(h, "PUT", "/api/v1/calendar/years/2031", `{"year": 2030, "holidays": ["2031-01-01"]}`), 400, []string{"year"})
	wantProblem(t, sendJSON(h, "PUT", "/api/v1/calendar/years/2031", `{"holiday": ["2031-01-01"]}`), 400, []string{"holiday"})
	wantProblem(t, sendJSON(h, "PUT", "/api/v1/calendar/years/2031", `{"holidays": "2031-01-01"}`), 400, []string{"holidays"})
	wantProblem(t, sendJSON(h, "PUT", "/api/v1/calendar/years/2031", `{"makeup_workdays": []}`), 400, []string{"holidays"}, "no holidays")
	wantStatus(t, sendJSON(h, "GET", "/api/v1/calendar/years/2031", ""), 404, nil)

	// Before 2031 has a schedule a deadline reaching into it is flagged.
	due := getDue(t, h, "start=2030-06-03&working_days=5")
	if due.Due != nil || due.UnscheduledYear != 2030 {
		t.Errorf("unscheduled: %+v", due)
	}

	body := `{"year": 2031, "source": "国务院办公厅关于2031年部分节假日安排的通知", "holidays": ["2031-01-01", "2031-01-22", "2031-01-23"], "makeup_workdays": ["2031-01-19"]}`
	rec = sendJSON(h, "PUT", "/api/v1/calendar/years/2031", body)
	var created yearBody
	wantStatus(t, rec, 201, &created)
	tag := rec.Header().Get("ETag")
	if rec.Header().Get("Location") != "/api/v1/calendar/years/2031" || tag == "" || created.HolidayCount != 3 || created.Holidays[1] != "2031-01-22" || created.UpdatedBy == "" {
		t.Errorf("created %+v, headers %v", created, rec.Header())
	}
	// 2031-01-17 is a Friday; the 19th a make-up Sunday; the 22nd and 23rd off.
	due = getDue(t, h, "start=2031-01-17&working_days=3")
	if due.Due == nil || due.Due.String() != "2031-01-21" || due.UnscheduledYear != 0 {
		t.Errorf("2031-01-17 + 3 = %+v", due)
	}

	// Replacing needs the ETag.
	replacement := `{"holidays": ["2031-01-01"]}`
	wantProblem(t, sendJSON(h, "PUT", "/api/v1/calendar/years/2031", replacement), 428, nil, "If-Match")
	wantProblem(t, sendJSON(h, "PUT", "/api/v1/calendar/years/2031", replacement, "If-Match", `"1"`), 412, nil)
	rec = sendJSON(h, "PUT", "/api/v1/calendar/years/2031", replacement, "If-Match", tag)
	var replaced yearBody
	wantStatus(t, rec, 200, &replaced)
	if replaced.HolidayCount != 1 || len(replaced.MakeupWorkdays) != 0 || replaced.Source != "" || rec.Header().Get("ETag") == tag {
		t.Errorf("replaced %+v", replaced)
	}
	// The old days are gone: 2031-01-17 + 3 is now an ordinary count.
	due = getDue(t, h, "start=2031-01-17&working_days=3")
	if due.Due == nil || due.Due.String() != "2031-01-22" {
		t.Errorf("after replacement 2031-01-17 + 3 = %+v", due)
	}
	due = getDue(t, h, "start=2031-12-20&working_days=15")
	if due.Due != nil || due.UnscheduledYear != 2032 {
		t.Errorf("into 2032: %+v", due)
	}
}

func getDue(t *testing.T, h http.Handler, query string) dueDateAnswer {
	t.Helper()
	var due dueDateAnswer
	wantStatus(t, sendJSON(h, "GET", "/api/v1/calendar/due-date?"+query, ""), 200, &due)
	return due
}

func TestDueDateAPI(t *testing.T) {
	h := newDBHandler(t)
	for _, c := range []struct{ start, n, want string }{
		{"2025-09-24", "15", "2025-10-21"}, // DOMAIN.md's worked examples
		{"2026-02-10", "15", "2026-03-09"},
		{"2026-09-17", "20", "2026-10-21"},
		{"2026-09-17", "0", "2026-09-17"},
	} {
		due := getDue(t, h, "start="+c.start+"&working_days="+c.n)
		if due.Due == nil || due.Due.String() != c.want || due.Start.String() != c.start {
			t.Errorf("%s + %s = %+v, want %s", c.start, c.n, due, c.want)
		}
	}
	rec := sendJSON(h, "GET", "/api/v1/calendar/due-date?start=2026-12-20&working_days=15", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"unscheduled_year":2027`) || strings.Contains(rec.Body.String(), `"due"`) {
		t.Errorf("into 2027: %d %s", rec.Code, rec.Body)
	}
	wantProblem(t, sendJSON(h, "GET", "/api/v1/calendar/due-date?start=2026-02-30&working_days=x", ""), 400, []string{"start", "working_days"}, "2026-02-30")
	wantProblem(t, sendJSON(h, "GET", "/api/v1/calendar/due-date?start=2026-02-03&working_days=-1", ""), 400, []string{"working_days"})
	wantProblem(t, sendJSON(h, "GET", "/api/v1/calendar/due-date?start=2026-02-03", ""), 400, []string{"working_days"})
	wantProblem(t, sendJSON(h, "GET", "/api/v1/calendar/due-date?start=2026-02-03&working_days=3&days=4", ""), 400, []string{"days"})
}
