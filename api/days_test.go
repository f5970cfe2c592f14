package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// TestDateRulesOnFixedDays runs the rules that depend on today at each of
// testenv.FixedDays through the server's clock: the calendar's missing
// years, a batch's inspection period and its calendar warning, a plan's
// year and draw dates, and a check item's default first day. The database
// is its own, so the calendar is the shipped one (2024–2026, no 2027).
func TestDateRulesOnFixedDays(t *testing.T) {
	db := testenv.NewMigratedDB(t)
	item, sfx := drawFixture(t, db, 8)
	if _, err := db.Exec(`INSERT INTO departments (code, name) VALUES ($1, '日期测试处')`, "D"+sfx); err != nil {
		t.Fatal(err)
	}
	// What each day must answer, written out rather than recomputed: the
	// missing years of this and next year, and the year a batch whose
	// inspection period ends 20 days later warns of (its results are due
	// 15 working days after that end).
	want := map[string]struct {
		missing []int
		warning int
	}{
		"new-year's-eve-23:59": {[]int{2027}, 2027},
		"new-year's-day-00:01": {[]int{2027, 2028}, 2027},
		"saturday":             {[]int{2027}, 2027},
		"national-day":         {[]int{2027}, 0},
		"early-december":       {[]int{2027}, 2027},
	}
	coord := bearer("coordinator")
	for i, day := range testenv.FixedDays {
		t.Run(day.Name, func(t *testing.T) {
			w, ok := want[day.Name]
			if !ok {
				t.Fatalf("no expectation for %s", day.Name)
			}
			h := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(db, testenv.Clock(day.Now)), Registry: prometheus.NewRegistry(), Auth: roleTokens{},
				Temporal: testTemporal(t), TaskQueue: "api-days-test"})
			today := workday.DateOf(day.Now)

			// The calendar says which of this year and next year it lacks.
			var years calendarYears
			rec := doBody(h, "GET", "/api/v1/calendar/years", "", coord)
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &years) != nil {
				t.Fatalf("calendar years: %d %s", rec.Code, rec.Body)
			}
			if !slices.Equal(years.MissingYears, w.missing) || len(years.Warnings) != len(w.missing) {
				t.Errorf("missing years %v (warnings %v), want %v", years.MissingYears, years.Warnings, w.missing)
			}

			// A batch's period must end after today; one that does is
			// accepted, and its read warns of the year its deadlines reach.
			id := fmt.Sprintf("DAYS-%s-%d", sfx, i)
			body := batchRequest(id, item)
			body["inspection_end"] = today.String()
			if rec := doBody(h, "POST", "/api/v1/batches", toJSON(t, body), coord); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "not after today") {
				t.Errorf("a period ending today (%s): %d %s", today, rec.Code, rec.Body)
			}
			body["inspection_end"] = today.AddDays(20).String()
			if rec := doBody(h, "POST", "/api/v1/batches", toJSON(t, body), coord); rec.Code != http.StatusCreated {
				t.Fatalf("a period ending %s: %d %s", body["inspection_end"], rec.Code, rec.Body)
			}
			var b batchView
			rec = doBody(h, "GET", "/api/v1/batches/"+id, "", coord)
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &b) != nil {
				t.Fatalf("read the batch: %d %s", rec.Code, rec.Body)
			}
			switch {
			case w.warning == 0 && b.CalendarWarning != nil:
				t.Errorf("calendar warning %+v, want none", b.CalendarWarning)
			case w.warning != 0 && (b.CalendarWarning == nil || b.CalendarWarning.Year != w.warning ||
				!strings.Contains(b.CalendarWarning.Message, fmt.Sprint(w.warning))):
				t.Errorf("calendar warning %+v, want one naming %d", b.CalendarWarning, w.warning)
			}

			// A plan of this year with its batch drawn tomorrow is accepted
			// unless tomorrow is in the next year; next year's plan always.
			plan := func(id string, year int, draw workday.Date) string {
				end := workday.Date{Year: year, Month: 12, Day: 31}
				return toJSON(t, map[string]any{"id": id, "year": year, "name": "日期测试计划", "department_code": "D" + sfx,
					"rules":            map[string]any{"items": []any{map[string]any{"code": item, "version": 1}}, "strata_keys": []string{"risk"}, "quotas": []any{map[string]any{"ratio": "0.5"}}},
					"batches":          []any{map[string]any{"draw_at": draw.String()}},
					"inspection_start": workday.Date{Year: year, Month: 1, Day: 1}.String(), "inspection_end": end.String()})
			}
			tomorrow := today.AddDays(1)
			rec = doBody(h, "POST", "/api/v1/plans", plan(fmt.Sprintf("DP-%s-%d-a", sfx, i), today.Year, tomorrow), coord)
			if tomorrow.Year == today.Year {
				if rec.Code != http.StatusCreated {
					t.Errorf("this year's plan drawn %s: %d %s", tomorrow, rec.Code, rec.Body)
				}
			} else if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "batches[0].draw_at") {
				t.Errorf("this year's plan drawn %s, in the next year: %d %s", tomorrow, rec.Code, rec.Body)
			}
			jan20 := workday.Date{Year: today.Year + 1, Month: 1, Day: 20}
			if rec := doBody(h, "POST", "/api/v1/plans", plan(fmt.Sprintf("DP-%s-%d-b", sfx, i), today.Year+1, jan20), coord); rec.Code != http.StatusCreated {
				t.Errorf("next year's plan: %d %s", rec.Code, rec.Body)
			}

			// A check item takes effect today, China time, unless told.
			var c struct {
				EffectiveFrom workday.Date `json:"effective_from"`
			}
			rec = doBody(h, "POST", "/api/v1/check-items", toJSON(t, map[string]any{"code": fmt.Sprintf("DAY-%s-%d", sfx, i), "name": "日期测试事项",
				"object_kind": "enterprise", "methods": []string{"实地检查"}, "class": "一般", "default_ratio": "0.1", "inspectors_required": 2}), coord)
			if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &c) != nil || c.EffectiveFrom != today {
				t.Errorf("check item: %d %s, want effective_from %s", rec.Code, rec.Body, today)
			}
		})
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
