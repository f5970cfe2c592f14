package lifecycle

// The batch's policy and input: what a batch runs on, shared by the API that
// takes it, the activities that start the workflow and the workflows.

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// DefaultFollowUpDays are the working days from a result's approval by
// which its follow-up is completed, by the kind of measure: an order to
// correct is checked again within 30 (责令限期改正 is usually set at up to
// 30 days); a filed case has 15 working days to be filed and 90 days to
// be decided (《市场监督管理行政处罚程序规定》), about 75; a notice to
// another department 10; a transfer to the judicial organs follows its own
// 5-day duty, the follow-up keeps 30 for the organ's receipt; a result
// needing no measure is closed within the entry limit, 15.
var DefaultFollowUpDays = map[string]int{
	"none_needed": 15, "order_correction": 30, "case_filed": 75,
	"judicial_transfer": 30, "notify_department": 10, "other": 30,
}

// Policy holds the configurable rules of a batch (DOMAIN.md defaults).
type Policy struct {
	// BeaconWait is how long the draw waits for a beacon before it proceeds
	// on the commitment alone.
	BeaconWait time.Duration `json:"beacon_wait"`
	// AutoMatchDays: the county has this many working days to run its match
	// before the system runs it.
	AutoMatchDays     int `json:"auto_match_days"`
	ResultEntryDays   int `json:"result_entry_days"`
	FollowUpEntryDays int `json:"follow_up_entry_days"`
	PublicationDays   int `json:"publication_days"`
	// ReminderOffsets: reminders this many working days before each deadline.
	ReminderOffsets []int `json:"reminder_offsets"`
	// ReminderTime is when on its day (China time) a reminder goes out.
	ReminderTime time.Duration `json:"reminder_time"`
	// ProgressEvery gathers a county's stage changes into one report to the
	// batch, so a burst of results is one signal, not hundreds.
	ProgressEvery time.Duration `json:"progress_every"`
	// JudicialTransferDays: a suspected crime is transferred within this
	// many working days of its result's approval; 0 (batches from before
	// the rule) means the default.
	JudicialTransferDays int `json:"judicial_transfer_days,omitempty"`
	// FollowUpDays: the follow-up of problems found is completed within
	// this many working days of the result's approval, by the planned
	// measure's kind (a follow-up action code); a kind not named (and
	// batches from before the rule) takes DefaultFollowUpDays.
	FollowUpDays map[string]int `json:"follow_up_days,omitempty"`
}

// FollowUpLimit is the follow-up completion limit of p for a measure.
func (p Policy) FollowUpLimit(action string) int {
	if n, ok := p.FollowUpDays[action]; ok {
		return n
	}
	if n, ok := DefaultFollowUpDays[action]; ok {
		return n
	}
	return DefaultFollowUpDays["other"]
}

// TransferLimit is the judicial transfer limit of p.
func (p Policy) TransferLimit() int {
	if p.JudicialTransferDays == 0 {
		return DefaultPolicy().JudicialTransferDays
	}
	return p.JudicialTransferDays
}

// DefaultPolicy is the seed notice's and DOMAIN.md's rule set.
func DefaultPolicy() Policy {
	return Policy{
		BeaconWait:        24 * time.Hour,
		AutoMatchDays:     5,
		ResultEntryDays:   15,
		FollowUpEntryDays: 15,
		PublicationDays:   20,
		ReminderOffsets:   []int{5, 1},
		ReminderTime:      9 * time.Hour,
		ProgressEvery:     time.Minute,
		// 《行政执法机关移送涉嫌犯罪案件的规定》: approval within 3 days of the
		// report, transfer within 24 hours of the approval.
		JudicialTransferDays: 5,
		FollowUpDays:         maps.Clone(DefaultFollowUpDays),
	}
}

// BatchInput starts a batch workflow. The batch row (rules, commitment)
// exists before the workflow starts.
type BatchInput struct {
	BatchID       string       `json:"batch_id"`
	InspectionEnd workday.Date `json:"inspection_end"`
	Policy        Policy       `json:"policy"`
	// Resume carries the state across continue-as-new.
	Resume *BatchProgress `json:"resume,omitempty"`
}

// BatchProgress is the answer of the batch's progress query.
type BatchProgress struct {
	BatchID  string           `json:"batch_id"`
	Phase    string           `json:"phase"`
	Beacon   *string          `json:"beacon,omitempty"`
	Counties []CountyProgress `json:"counties"`
	Total    CountyProgress   `json:"total"`
}

// CountyProgress counts a county's objects by stage and those with a
// passed deadline by duty: the same figures the database gives
// (stats.Progress).
type CountyProgress = stats.CountyProgress

// MaxDutyDays bounds the working days of a duty: a policy's limits and a
// coordinator's extension alike.
const MaxDutyDays = 60

// DutyDaysProblem refuses a number of working days of a duty outside 1 to
// MaxDutyDays.
func DutyDaysProblem(field string, n int) *fault.Problem {
	if n >= 1 && n <= MaxDutyDays {
		return nil
	}
	return &fault.Problem{Field: field, Message: fmt.Sprintf("must be from 1 to %d working days, got %d", MaxDutyDays, n)}
}

// Validate reports every setting of p that cannot work, naming the field.
func (p Policy) Validate() error {
	var ps []fault.Problem
	days := func(field string, n int) {
		if p := DutyDaysProblem("policy."+field, n); p != nil {
			ps = append(ps, *p)
		}
	}
	days("auto_match_days", p.AutoMatchDays)
	days("result_entry_days", p.ResultEntryDays)
	days("follow_up_entry_days", p.FollowUpEntryDays)
	days("publication_days", p.PublicationDays)
	if p.JudicialTransferDays != 0 {
		days("judicial_transfer_days", p.JudicialTransferDays)
	}
	for _, action := range slices.Sorted(maps.Keys(p.FollowUpDays)) {
		field := "policy.follow_up_days." + action
		if inspection.ActionChinese(action) == "" {
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("%q is not a follow-up action; one of none_needed, order_correction, case_filed, judicial_transfer, notify_department, other", action)})
		} else if n := p.FollowUpDays[action]; n < 1 || n > 120 {
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("must be from 1 to 120 working days, got %d", n)})
		}
	}
	seen := map[int]bool{}
	for i, off := range p.ReminderOffsets {
		if off < 0 || off > 30 || seen[off] {
			ps = append(ps, fault.Problem{Field: fmt.Sprintf("policy.reminder_offsets[%d]", i), Message: "must be a distinct number of working days from 0 to 30"})
		}
		seen[off] = true
	}
	if p.BeaconWait < 0 || p.BeaconWait > 30*24*time.Hour {
		ps = append(ps, fault.Problem{Field: "policy.beacon_wait", Message: "must be between 0 and 30 days"})
	}
	if p.ReminderTime < 0 || p.ReminderTime >= 24*time.Hour {
		ps = append(ps, fault.Problem{Field: "policy.reminder_time", Message: "must be a time of day, from 0 to 23h59m"})
	}
	if p.ProgressEvery < 0 || p.ProgressEvery > time.Hour {
		ps = append(ps, fault.Problem{Field: "policy.progress_every", Message: "must be between 0 and 1 hour"})
	}
	return fault.Invalids("the batch policy cannot work", ps)
}
