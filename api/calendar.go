package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// calendarAPI serves the working-day calendar: the holiday schedule of each
// year, which an administrator adds every November and corrects when the
// State Council changes it, and the due-date arithmetic on it.
type calendarAPI struct {
	s  *Server
	st *workday.Store
}

// calendarRoutes registers the calendar resources on v1.
func (s *Server) calendarRoutes(v1 *gin.RouterGroup) {
	h := &calendarAPI{s: s, st: s.calendar()}
	v1.GET("/calendar/years", h.listYears)
	v1.GET("/calendar/years/:year", h.getYear)
	v1.PUT("/calendar/years/:year", requireRole(cityRoles...), h.putYear)
	v1.GET("/calendar/due-date", h.dueDate)
}

// calendarYear is one year's schedule as the API shows it.
type calendarYear struct {
	workday.YearInfo
	Holidays       []workday.Date `json:"holidays"`
	MakeupWorkdays []workday.Date `json:"makeup_workdays"`
}

// calendarYearInput is the body of PUT /calendar/years/{year}: the layout of
// a year in internal/workday/schedules/cn.json, plus where it comes from.
// Dates are read as strings so that each bad one can be named.
type calendarYearInput struct {
	Year           *int     `json:"year"`
	Source         string   `json:"source"`
	Holidays       []string `json:"holidays"`
	MakeupWorkdays []string `json:"makeup_workdays"`
}

// calendarYears is the answer of GET /calendar/years: the stored years,
// and which of this year and next year (in China) have no schedule yet, so
// that a person sees the gap before a deadline runs into it.
type calendarYears struct {
	Items        []workday.YearInfo `json:"items"`
	MissingYears []int              `json:"missing_years"`
	Warnings     []calendarWarning  `json:"warnings"`
}

func (h *calendarAPI) listYears(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	years, err := h.st.Years(ctx)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	cal, err := h.st.Calendar(ctx)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	this := h.s.today().Year
	ans := calendarYears{Items: years, MissingYears: cal.Missing(this, this+1), Warnings: []calendarWarning{}}
	for _, y := range ans.MissingYears {
		ans.Warnings = append(ans.Warnings, *warnUnscheduled(y))
	}
	c.JSON(http.StatusOK, ans)
}

// calendarWarning tells a reader that deadlines reach a year whose
// working-day schedule is not yet in the calendar: they are not counted
// (never on weekends alone) until an administrator adds the year.
type calendarWarning struct {
	Year    int    `json:"year"`
	Message string `json:"message"`
}

// warnUnscheduled is the warning for year, or nil for 0.
func warnUnscheduled(year int) *calendarWarning {
	if year == 0 {
		return nil
	}
	return &calendarWarning{Year: year, Message: fmt.Sprintf(
		"The working-day calendar has no schedule for %d: deadlines that reach into it are not counted until an administrator adds it (PUT /api/v1/calendar/years/%d).", year, year)}
}

func yearParam(c *gin.Context) (int, error) {
	y, err := strconv.Atoi(c.Param("year"))
	if err != nil || y < 1 || y > 9999 {
		return 0, fault.Field("year", "%q is not a year", c.Param("year"))
	}
	return y, nil
}

func (h *calendarAPI) getYear(c *gin.Context) {
	year, err := yearParam(c)
	if err == nil {
		_, err = checkQuery(c)
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	sched, info, err := h.st.Year(c.Request.Context(), year)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	withETag(c, info.Revision, calendarYear{YearInfo: info, Holidays: sched.Holidays, MakeupWorkdays: sched.MakeupWorkdays})
}

// putYear creates a year (no If-Match) or replaces it whole (If-Match with
// the ETag of the version read).
func (h *calendarAPI) putYear(c *gin.Context) {
	year, err := yearParam(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var in calendarYearInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	sched, err := in.schedule(year)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	rev, err := optionalIfMatch(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	_, isNew, err := h.st.PutSchedule(ctx, sched, in.Source, actorOf(c), rev)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	stored, info, err := h.st.Year(ctx, year)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	body := calendarYear{YearInfo: info, Holidays: stored.Holidays, MakeupWorkdays: stored.MakeupWorkdays}
	if isNew {
		created(c, "/api/v1/calendar/years/"+strconv.Itoa(year), info.Revision, body)
		return
	}
	withETag(c, info.Revision, body)
}

// schedule parses the input into a schedule for year, naming every date
// that is not one (holidays[2], ...).
func (in calendarYearInput) schedule(year int) (workday.Schedule, error) {
	var problems []fault.Problem
	if in.Year != nil && *in.Year != year {
		problems = append(problems, fault.Problem{Field: "year", Message: fmt.Sprintf("is %d but the URL names %d", *in.Year, year)})
	}
	parse := func(field string, list []string) []workday.Date {
		out := make([]workday.Date, 0, len(list))
		for i, s := range list {
			d, err := workday.ParseDate(s)
			if err != nil {
				problems = append(problems, fault.Problem{Field: fmt.Sprintf("%s[%d]", field, i), Message: fmt.Sprintf("%q is not a valid date written as YYYY-MM-DD", s)})
				continue
			}
			out = append(out, d)
		}
		return out
	}
	s := workday.Schedule{Year: year, Holidays: parse("holidays", in.Holidays), MakeupWorkdays: parse("makeup_workdays", in.MakeupWorkdays)}
	if err := fault.Invalids(fmt.Sprintf("the schedule for %d is not valid", year), problems); err != nil {
		return workday.Schedule{}, err
	}
	return s, nil
}

// maxWorkingDays bounds a due-date request: no statutory deadline is near
// it, and the count stops at the first unscheduled year anyway.
const maxWorkingDays = 1000

// dueDateAnswer is the answer of GET /calendar/due-date. Exactly one of Due
// and UnscheduledYear is set: a count that reaches a year without a
// schedule is flagged, never computed on weekends alone.
type dueDateAnswer struct {
	Start           workday.Date  `json:"start"`
	WorkingDays     int           `json:"working_days"`
	Due             *workday.Date `json:"due,omitempty"`
	UnscheduledYear int           `json:"unscheduled_year,omitempty"`
}

func (h *calendarAPI) dueDate(c *gin.Context) {
	q, err := checkQuery(c, "start", "working_days")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var problems []fault.Problem
	start, err := workday.ParseDate(q.Get("start"))
	if err != nil {
		problems = append(problems, fault.Problem{Field: "start", Message: fmt.Sprintf("%q is not a date written as YYYY-MM-DD", q.Get("start"))})
	}
	n, err := strconv.Atoi(q.Get("working_days"))
	if err != nil || n < 0 || n > maxWorkingDays {
		problems = append(problems, fault.Problem{Field: "working_days", Message: fmt.Sprintf("must be a whole number from 0 to %d, got %q", maxWorkingDays, q.Get("working_days"))})
	}
	if err := fault.Invalids("cannot compute a due date", problems); err != nil {
		h.s.fail(c, err)
		return
	}
	cal, err := h.st.Calendar(c.Request.Context())
	if err != nil {
		h.s.fail(c, err)
		return
	}
	dl, err := cal.Deadline(workday.Term{Start: start, WorkingDays: n})
	if err != nil {
		h.s.fail(c, err)
		return
	}
	ans := dueDateAnswer{Start: start, WorkingDays: n, Due: dl.Due, UnscheduledYear: dl.Unscheduled}
	c.JSON(http.StatusOK, ans)
}
