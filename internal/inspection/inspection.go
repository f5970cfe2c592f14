// Package inspection holds the rules of one drawn object's inspection once
// it reaches its county: the result codes and follow-up actions in use, the
// stages a task passes through, and the checks that entries must pass.
// Workflows call these plain functions from their update validators, and the
// API and stores call the same ones, so each rule lives in one place.
package inspection

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/library"
)

// ResultCodes are the outcomes of an inspection seen in production systems
// (DOMAIN.md), by code; the Chinese term is what the public reads.
var ResultCodes = []struct{ Code, Chinese string }{
	{"no_problem", "未发现问题"},
	{"corrected", "发现问题经责令已改正"},
	{"pending_follow_up", "发现问题待后续处理"},
	{"no_activity", "未发现开展本次抽查涉及的经营活动"},
	{"refused", "不配合检查情节严重"},
	{"unreachable", "通过登记的住所（经营场所）无法联系"},
	{"closed", "已关闭停业或正在组织清算"},
	{"deregistered", "注销"},
	{"revoked", "被吊销"},
	{"cancelled", "被撤销"},
	{"moved_out", "迁出"},
	{"not_disclosed", "未按规定公示应当公示的信息"},
	{"false_disclosure", "公示信息隐瞒真实情况弄虚作假"},
}

// FollowUpActions are the coded follow-up measures (后续处置).
var FollowUpActions = []struct{ Code, Chinese string }{
	{"none_needed", "无需后续处置"},
	{"order_correction", "责令改正"},
	{"case_filed", "立案查处"},
	{"judicial_transfer", "移送司法机关"},
	{"notify_department", "抄告相关部门"},
	{"other", "其他"},
}

// problemCodes are the results that open a follow-up (问题需后续监管).
var problemCodes = map[string]bool{
	"corrected": true, "pending_follow_up": true, "refused": true,
	"not_disclosed": true, "false_disclosure": true,
}

// FindsProblem reports whether a result code means problems were found,
// so the task goes on to follow-up.
func FindsProblem(code string) bool { return problemCodes[code] }

// ResultChinese returns the Chinese term of a result code.
// CanonicalResult maps a result code or its Chinese term to the code.
func CanonicalResult(s string) (string, bool) { return canonical(ResultCodes, s) }

// CanonicalAction maps a follow-up action code or its Chinese term to the
// code.
func CanonicalAction(s string) (string, bool) { return canonical(FollowUpActions, s) }

func canonical(list []struct{ Code, Chinese string }, s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, e := range list {
		if s == e.Code || s == e.Chinese {
			return e.Code, true
		}
	}
	return "", false
}

// Canonical returns r with its code and method written as codes, when they
// were given as codes or Chinese terms; unknown ones stay as they are, for
// CheckResult to name.
func (r Result) Canonical() Result {
	if c, ok := CanonicalResult(r.Code); ok {
		r.Code = c
	}
	if m, ok := library.Methods.Canonical(r.Method); ok {
		r.Method = m
	}
	if a, ok := CanonicalAction(r.FollowUpAction); ok {
		r.FollowUpAction = a
	}
	return r
}

// Canonical returns f with its actions written as codes.
func (f FollowUpEntry) Canonical() FollowUpEntry {
	actions := make([]string, len(f.Actions))
	for i, a := range f.Actions {
		actions[i] = a
		if c, ok := CanonicalAction(a); ok {
			actions[i] = c
		}
	}
	f.Actions = actions
	return f
}

// CheckMethod refuses a method that none of the object's items allows
// (an item's methods are part of the published item list). No items (a
// targeted case) allows any known method.
func CheckMethod(method string, items []library.ItemMethods) error {
	if len(items) == 0 {
		return nil
	}
	var allowed []string
	for _, it := range items {
		for _, m := range it.Methods {
			if m == method {
				return nil
			}
			if !slices.Contains(allowed, m) {
				allowed = append(allowed, m)
			}
		}
	}
	names := make([]string, len(allowed))
	for i, m := range allowed {
		names[i] = m + " (" + library.Methods.Chinese(m) + ")"
	}
	codes := make([]string, len(items))
	for i, it := range items {
		codes[i] = it.Code
	}
	return fault.Field("method", "%s (%s) is not a method of item %s; allowed: %s", method, library.Methods.Chinese(method),
		strings.Join(codes, ", "), strings.Join(names, ", "))
}

func ResultChinese(code string) string {
	for _, r := range ResultCodes {
		if r.Code == code {
			return r.Chinese
		}
	}
	return ""
}

// ActionChinese returns the Chinese term of a follow-up action code.
func ActionChinese(code string) string {
	for _, a := range FollowUpActions {
		if a.Code == code {
			return a.Chinese
		}
	}
	return ""
}

// Stage is where a task stands.
type Stage string

// The stages of a task, in lifecycle order.
const (
	AwaitingMatch Stage = "awaiting_match" // drawn and assigned to the county, no team yet
	Assigned      Stage = "assigned"       // team matched, inspection under way
	Inspected     Stage = "inspected"      // inspection completed, result entry due
	ResultEntered Stage = "result_entered" // awaiting review by a county officer
	Returned      Stage = "returned"       // returned for correction
	Approved      Stage = "approved"       // reviewed; publication due
	Published     Stage = "published"      // public; follow-up may still be open
	FollowUp      Stage = "follow_up"      // problems found, follow-up open
	Closed        Stage = "closed"         // nothing left to do
	// SetAside: no inspector of the county may inspect it; set aside before
	// the match and handed to the city as an exception (staffed across
	// counties or handled as a targeted case). Final for the batch.
	SetAside Stage = "set_aside"
)

// Final reports whether a task at stage s needs nothing more in its batch.
func Final(s Stage) bool { return s == Closed || s == SetAside }

// Stages lists every stage in order, for progress tables.
var Stages = []Stage{AwaitingMatch, Assigned, Inspected, ResultEntered, Returned, Approved, Published, FollowUp, Closed, SetAside}

// Actor is who makes an entry: a county officer of the object's county or
// one of the inspectors matched to it.
type Actor struct {
	Role         string `json:"role"` // "county_officer" or "inspector"
	County       string `json:"county,omitempty"`
	InspectorKey string `json:"inspector_key,omitempty"`
	Name         string `json:"name,omitempty"`
}

// String names the actor for records.
func (a Actor) String() string {
	if a.Role == "inspector" {
		return "inspector:" + a.InspectorKey
	}
	return a.Role + ":" + a.County + ":" + a.Name
}

// Result is an inspection result as entered.
type Result struct {
	Code   string `json:"result_code"`
	Method string `json:"method"`
	Notes  string `json:"notes,omitempty"`
	// SuspectedCrime marks problems that amount to a suspected crime: the
	// case must then be transferred to the judicial organs.
	SuspectedCrime bool `json:"suspected_crime,omitempty"`
	// FollowUpAction is the measure decided for problems found (one of
	// FollowUpActions); its kind sets the follow-up's completion deadline.
	// Empty: order_correction, the usual measure.
	FollowUpAction string `json:"follow_up_action,omitempty"`
	EnteredBy      Actor  `json:"entered_by"`
}

// PlannedAction is the follow-up measure r plans: the one it names, or
// order_correction (责令改正).
func (r Result) PlannedAction() string {
	if r.FollowUpAction == "" {
		return "order_correction"
	}
	return r.FollowUpAction
}

// CheckResult validates a result entry for an object of county inspected
// by team: a known code and method, entered by a matched inspector or an
// officer of the county.
func CheckResult(r Result, county string, team []string) error {
	var ps []fault.Problem
	if ResultChinese(r.Code) == "" {
		ps = append(ps, fault.Problem{Field: "result_code", Message: "unknown result code " + quote(r.Code) + "; known: " + codes(ResultCodes)})
	}
	if library.Methods.Chinese(r.Method) == "" {
		ps = append(ps, fault.Problem{Field: "method", Message: "unknown inspection method " + quote(r.Method) + "; known: " + strings.Join(library.Methods.Codes(), ", ")})
	}
	switch {
	case r.FollowUpAction == "":
	case ActionChinese(r.FollowUpAction) == "":
		ps = append(ps, fault.Problem{Field: "follow_up_action", Message: "unknown follow-up action " + quote(r.FollowUpAction) + "; known: " + codes(FollowUpActions)})
	case !FindsProblem(r.Code):
		ps = append(ps, fault.Problem{Field: "follow_up_action", Message: "result " + quote(r.Code) + " found no problem and takes no follow-up action"})
	}
	ps = AppendText(ps, "notes", r.Notes, 4000)
	if err := checkActor(r.EnteredBy, county, team); err != nil {
		ps = append(ps, fault.Problem{Field: "entered_by", Message: err.Error()})
	}
	return fault.Invalids("the result cannot be accepted", ps)
}

// Review is a county officer's decision on an entered result.
type Review struct {
	Approve  bool   `json:"approve"`
	Comment  string `json:"comment,omitempty"`
	Reviewer Actor  `json:"reviewer"`
}

// CheckReview validates a review: only an officer of the county reviews,
// and a returned result says why.
func CheckReview(r Review, county string) error {
	var ps []fault.Problem
	if r.Reviewer.Role != "county_officer" || r.Reviewer.County != county {
		ps = append(ps, fault.Problem{Field: "reviewer", Message: "only a county officer of " + county + " reviews results of this county"})
	}
	if !r.Approve && strings.TrimSpace(r.Comment) == "" {
		ps = append(ps, fault.Problem{Field: "comment", Message: "say what must be corrected when returning a result"})
	}
	ps = AppendText(ps, "comment", r.Comment, 4000)
	return fault.Invalids("the review cannot be accepted", ps)
}

// FollowUpEntry records follow-up measures; CompletedOn is the day the
// follow-up was completed, from which the 15-working-day entry limit runs.
type FollowUpEntry struct {
	CompletedOn string   `json:"completed_on"` // YYYY-MM-DD
	Actions     []string `json:"actions"`
	Notes       string   `json:"notes,omitempty"`
	EnteredBy   Actor    `json:"entered_by"`
}

// CheckFollowUp validates a follow-up entry for an object of county.
func CheckFollowUp(f FollowUpEntry, county string, team []string) error {
	var ps []fault.Problem
	if len(f.Actions) == 0 {
		ps = append(ps, fault.Problem{Field: "actions", Message: "name at least one action; known: " + codes(FollowUpActions)})
	}
	seen := map[string]bool{}
	for i, a := range f.Actions {
		if ActionChinese(a) == "" {
			ps = append(ps, fault.Problem{Field: "actions[" + strconv.Itoa(i) + "]", Message: "unknown follow-up action " + quote(a) + "; known: " + codes(FollowUpActions)})
		}
		if seen[a] {
			ps = append(ps, fault.Problem{Field: "actions[" + strconv.Itoa(i) + "]", Message: "repeats " + quote(a)})
		}
		seen[a] = true
	}
	ps = AppendText(ps, "notes", f.Notes, 4000)
	if err := checkActor(f.EnteredBy, county, team); err != nil {
		ps = append(ps, fault.Problem{Field: "entered_by", Message: err.Error()})
	}
	return fault.Invalids("the follow-up cannot be accepted", ps)
}

// AppendText adds the problem of a free text that the database cannot
// store: over max bytes, invalid UTF-8, or a NUL (PostgreSQL's text
// refuses both; a validator must, or the entry's activity would fail on
// every attempt).
func AppendText(ps []fault.Problem, field, s string, max int) []fault.Problem {
	switch {
	case len(s) > max:
		return append(ps, fault.Problem{Field: field, Message: "is longer than " + strconv.Itoa(max) + " bytes"})
	case !utf8.ValidString(s):
		return append(ps, fault.Problem{Field: field, Message: "is not valid UTF-8"})
	case strings.ContainsRune(s, 0):
		return append(ps, fault.Problem{Field: field, Message: "contains a NUL character (U+0000)"})
	}
	return ps
}

func checkActor(a Actor, county string, team []string) error {
	switch a.Role {
	case "county_officer":
		if a.County != county {
			return fault.New(fault.Forbidden, "a county officer of %s cannot act on an object of %s", a.County, county)
		}
		return nil
	case "inspector":
		for _, k := range team {
			if k == a.InspectorKey {
				return nil
			}
		}
		return fault.New(fault.Forbidden, "inspector %s is not matched to this object", a.InspectorKey)
	}
	return fault.New(fault.Forbidden, "role %s cannot enter results; a matched inspector or a county officer can", quote(a.Role))
}

func codes(list []struct{ Code, Chinese string }) string {
	s := make([]string, len(list))
	for i, c := range list {
		s[i] = c.Code
	}
	return strings.Join(s, ", ")
}

func quote(s string) string { return `"` + s + `"` }

// StageNames are the stages in Chinese, for people reading reports.
var StageNames = map[Stage]string{
	AwaitingMatch: "待匹配", Assigned: "检查中", Inspected: "待录入结果", ResultEntered: "待审核",
	Returned: "退回修改", Approved: "待公示", Published: "已公示", FollowUp: "后续监管中", Closed: "已办结",
	SetAside: "已移出（例外处理）",
}

// DutyNames are the duties with deadlines (as the accountability ledger
// names them) in Chinese.
var DutyNames = map[string]string{
	"matching":          "执法检查人员随机匹配",
	"inspection":        "检查",
	"result_entry":      "检查结果录入",
	"follow_up":         "后续监管",
	"follow_up_entry":   "后续监管结果录入",
	"publication":       "检查结果公示",
	"judicial_transfer": "移送司法机关",
}
