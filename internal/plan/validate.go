package plan

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// validate reports every problem of d, naming its field, and normalizes
// it: batches sorted by draw time and numbered from 1, draw times in RFC
// 3339 China time. The draw rules are checked by the batch package as a
// batch would be (items, strata keys, quotas: a ratio above 1 is refused).
func (s *Service) validate(ctx context.Context, d *Spec) error {
	var ps []fault.Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	now := s.now()
	if !validID.MatchString(d.ID) {
		add("id", "use 1 to 48 letters, digits, '.', '_' or '-'")
	}
	if d.Year < 2000 || d.Year > 2100 {
		add("year", "%d is not a plan year", d.Year)
	} else if d.Year < now.In(china).Year() {
		add("year", "%d has passed", d.Year)
	}
	if strings.TrimSpace(d.Name) == "" || utf8.RuneCountInString(d.Name) > 200 {
		add("name", "give the plan's name (at most 200 characters)")
	}
	switch {
	case (d.DepartmentCode == "") == (d.CountyCode == ""):
		add("department_code", "give either department_code (a department's plan) or county_code (a county's plan)")
	case d.DepartmentCode != "":
		if !s.exists(ctx, `SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)`, d.DepartmentCode) {
			add("department_code", "no department %q", d.DepartmentCode)
		}
	default:
		if !s.exists(ctx, `SELECT EXISTS (SELECT 1 FROM regions r JOIN regions p ON p.code = r.parent_code WHERE r.code = $1 AND p.parent_code IS NULL)`, d.CountyCode) {
			add("county_code", "%q is not a county-level region", d.CountyCode)
		}
	}
	if d.JointDepartments == nil {
		d.JointDepartments = []string{}
	}
	for i, code := range d.JointDepartments {
		if code == d.DepartmentCode || slices.Contains(d.JointDepartments[:i], code) {
			add(fmt.Sprintf("joint_departments[%d]", i), "%q is listed twice or is the plan's own department", code)
		} else if !s.exists(ctx, `SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)`, code) {
			add(fmt.Sprintf("joint_departments[%d]", i), "no department %q", code)
		}
	}

	// The inspection period lies in the plan's year.
	inYear := func(field string, dt workday.Date) bool {
		if !dt.IsValid() {
			add(field, "give a date (YYYY-MM-DD)")
			return false
		}
		if dt.Start().In(china).Year() != d.Year {
			add(field, "%s is outside the plan's year %d", dt, d.Year)
			return false
		}
		return true
	}
	okStart := inYear("inspection_start", d.InspectionStart)
	okEnd := inYear("inspection_end", d.InspectionEnd)
	if okStart && okEnd && d.InspectionEnd.Before(d.InspectionStart) {
		add("inspection_end", "%s is before inspection_start %s", d.InspectionEnd, d.InspectionStart)
	}

	// Planned batches: in the future, in the plan's year, each inspected
	// after its draw and within the plan's period.
	switch {
	case len(d.Batches) == 0:
		add("batches", "plan at least one batch")
	case len(d.Batches) > maxBatches:
		add("batches", "plan at most %d batches", maxBatches)
	}
	type timed struct {
		PlannedBatch
		at int64
	}
	var good []timed
	for i, b := range d.Batches {
		field := fmt.Sprintf("batches[%d]", i)
		t, err := parseDrawAt(b.DrawAt)
		if err != nil {
			add(field+".draw_at", "%q is neither a date (YYYY-MM-DD) nor a time (RFC 3339)", b.DrawAt)
			continue
		}
		bad := false
		if !t.After(now) {
			add(field+".draw_at", "%s is in the past", b.DrawAt)
			bad = true
		}
		if t.Year() != d.Year {
			add(field+".draw_at", "%s is outside the plan's year %d", b.DrawAt, d.Year)
			bad = true
		}
		end := d.InspectionEnd
		if b.InspectionEnd != nil {
			end = *b.InspectionEnd
			if okEnd && end.After(d.InspectionEnd) {
				add(field+".inspection_end", "%s is after the plan's inspection_end %s", end, d.InspectionEnd)
				bad = true
			}
		}
		if !workday.DateOf(t).Before(end) {
			add(field+".inspection_end", "the inspection period (to %s) must end after the draw (%s)", end, workday.DateOf(t))
			bad = true
		}
		if utf8.RuneCountInString(b.Name) > 200 {
			add(field+".name", "at most 200 characters")
			bad = true
		}
		if !bad {
			b.DrawAt = t.Format("2006-01-02T15:04:05-07:00")
			good = append(good, timed{b, t.UnixNano()})
		}
	}
	if len(good) == len(d.Batches) {
		sort.SliceStable(good, func(i, j int) bool { return good[i].at < good[j].at })
		for i := range good {
			good[i].Seq = i + 1
			if good[i].Name == "" {
				good[i].Name = fmt.Sprintf("%s 第%d批", d.Name, i+1)
			}
			d.Batches[i] = good[i].PlannedBatch
		}
	}

	if _, err := batch.NewService(s.db).Simulate(ctx, d.Rules); err != nil {
		e, ok := fault.As(err)
		if !ok {
			return fmt.Errorf("check the rules of plan %s: %w", d.ID, err)
		}
		if len(e.Problems) == 0 {
			add("rules", "%s", e.Msg)
		}
		ps = append(ps, e.Problems...)
	}
	return fault.Invalids("the plan cannot be accepted", ps)
}

func (s *Service) exists(ctx context.Context, query string, args ...any) bool {
	var ok bool
	if err := s.db.GetContext(ctx, &ok, query, args...); err != nil {
		return false
	}
	return ok
}
