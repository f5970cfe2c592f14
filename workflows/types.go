package workflows

import (
	"github.com/spotcheck-gov/spotcheck/activities"

	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Query and update names live in lifecycle, shared with the API; these
// names keep the workflows' code as it reads.
const (
	QueryProgress = lifecycle.QueryProgress
	QueryState    = lifecycle.QueryState

	UpdateBeacon    = lifecycle.UpdateBeacon
	UpdateMatch     = lifecycle.UpdateMatch
	UpdateInspected = lifecycle.UpdateInspected
	UpdateResult    = lifecycle.UpdateResult
	UpdateReview    = lifecycle.UpdateReview
	UpdateFollowUp  = lifecycle.UpdateFollowUp
	UpdateExtend    = lifecycle.UpdateExtend
	UpdateReplace   = lifecycle.UpdateReplace
	UpdateTransfer  = lifecycle.UpdateTransfer
	UpdateOpen      = lifecycle.UpdateOpen
)

// Signal names and fan-out limits; histories depend on the signal names.
const (
	signalObjectStage   = "object-stage"
	signalCountyUpdate  = "county-progress"
	maxObjectsPerWorker = 500 // objects tracked under one partition workflow
	startSlice          = 50  // object workflows a partition starts at once
)

// Duties with deadlines, as recorded in the accountability ledger.
const (
	DutyMatching      = "matching"
	DutyInspection    = "inspection"
	DutyResultEntry   = "result_entry"
	DutyFollowUpEntry = "follow_up_entry"
	DutyPublication   = "publication"
	// DutyJudicialTransfer: a result approved as a suspected crime is
	// transferred to the judicial organs (移送司法机关) within
	// lifecycle.Policy.JudicialTransferDays working days of its approval.
	DutyJudicialTransfer = "judicial_transfer"
	// DutyFollowUp: problems found are followed up (后续监管) to completion
	// within lifecycle.Policy.FollowUpDays of the planned measure's kind, counted in
	// working days from the result's approval.
	DutyFollowUp = "follow_up"
)

// CountyInput starts a county workflow. Count says how many objects the
// county received; the county reads them from the database page by page,
// so its input and state keep their size whatever the batch. (Batches
// locked before that list the objects themselves in Objects.)
type CountyInput struct {
	BatchID       string           `json:"batch_id"`
	County        string           `json:"county"`
	Objects       []string         `json:"objects"`
	Count         int              `json:"count,omitempty"`
	InspectionEnd workday.Date     `json:"inspection_end"`
	Policy        lifecycle.Policy `json:"policy"`
	Resume        *countyState     `json:"resume,omitempty"`
}

// byReference reports whether the county reads its objects from the
// database rather than from its input.
func (in CountyInput) byReference() bool { return in.Objects == nil }

// countyState is what a county workflow carries across continue-as-new:
// by reference, its phase and last counted progress; before that, a stage
// per object.
type countyState struct {
	Phase    string                      `json:"phase"`
	Objects  map[string]inspection.Stage `json:"objects"`
	Overdue  map[string]map[string]bool  `json:"overdue"` // object -> duty -> overdue now
	Teams    map[string][]string         `json:"teams,omitempty"`
	Progress *lifecycle.CountyProgress   `json:"progress,omitempty"`
	// Changed: moves arrived since Progress was counted. By reference the
	// moves themselves are not kept, so without it a run that continued
	// as new right after its last objects closed would wait for news that
	// never comes.
	Changed bool `json:"changed,omitempty"`
}

// PartitionInput starts the tracking of a page of a county's matched
// objects: by reference (the page of BatchID and County, read in an
// activity), or for older batches the objects themselves.
type PartitionInput struct {
	Objects       []ObjectInput     `json:"objects"`
	BatchID       string            `json:"batch_id,omitempty"`
	County        string            `json:"county,omitempty"`
	Page          int               `json:"page,omitempty"`
	Size          int               `json:"size,omitempty"`
	InspectionEnd workday.Date      `json:"inspection_end,omitzero"`
	Policy        *lifecycle.Policy `json:"policy,omitempty"`
}

// ObjectInput starts the tracking of one drawn object.
type ObjectInput struct {
	BatchID       string           `json:"batch_id"`
	County        string           `json:"county"`
	ObjectKey     string           `json:"object_key"`
	Team          []string         `json:"team"`
	InspectionEnd workday.Date     `json:"inspection_end"`
	Policy        lifecycle.Policy `json:"policy"`
	// InspectionPlan is the inspection deadline, the same for every object
	// of the batch: planned once by the partition, so that an object's
	// tracking starts with one write. (Objects started before it plan it
	// themselves.)
	InspectionPlan *activities.Plan `json:"inspection_plan,omitempty"`
	// Opened: the object was opened on its first report by the partition
	// that had watched its inspection deadline with the rest of its page.
	Opened *OpenedObject `json:"opened,omitempty"`
}

// OpenedObject is what a partition hands an object it opens: the inspection
// deadline as it stands (reminders sent, a lapse already in the ledger) and
// the change number of the task row the partition wrote.
type OpenedObject struct {
	Inspection duty `json:"inspection"`
	Seq        int  `json:"seq"`
}

// ObjectState is the answer of an object's state query.
type ObjectState struct {
	Stage     inspection.Stage          `json:"stage"`
	Team      []string                  `json:"team"`
	Deadlines map[string]DeadlineStatus `json:"deadlines"`
	Revision  int                       `json:"result_revision"`
}

// DeadlineStatus is one duty's deadline as the object workflow sees it.
type DeadlineStatus struct {
	Due         *workday.Date `json:"due,omitempty"`
	Unscheduled int           `json:"unscheduled_year,omitempty"`
	Overdue     bool          `json:"overdue"`
	Met         bool          `json:"met"`
}

// Inspected reports an inspection completed (with its date).
type Inspected struct {
	CompletedOn workday.Date     `json:"completed_on"`
	By          inspection.Actor `json:"by"`
}

// Extension moves a deadline by WorkingDays working days.
type Extension struct {
	Duty        string `json:"duty"`
	WorkingDays int    `json:"working_days"`
	Reason      string `json:"reason"`
	By          string `json:"by"`
}

// JudicialTransfer records that a suspected crime was transferred to a
// judicial organ (移送司法机关): which organ, on which day, under which
// document number.
type JudicialTransfer struct {
	Organ         string           `json:"organ"`
	TransferredOn workday.Date     `json:"transferred_on"`
	DocumentNo    string           `json:"document_no"`
	By            inspection.Actor `json:"by"`
}

// Replacement asks to replace one inspector of an object's team (sick,
// recused late); the reason is recorded.
type Replacement struct {
	InspectorKey string           `json:"inspector_key"`
	Reason       string           `json:"reason"`
	By           inspection.Actor `json:"by"`
}

// MatchRequest asks for the county's inspector match (round 1) by a
// county officer.
type MatchRequest struct {
	By     inspection.Actor `json:"by"`
	Beacon string           `json:"beacon,omitempty"`
}

// StageEvent tells the county that one object moved.
type StageEvent struct {
	ObjectKey string           `json:"object_key"`
	Stage     inspection.Stage `json:"stage"`
	Overdue   map[string]bool  `json:"overdue,omitempty"`
}

// Workflow IDs are lifecycle's, shared with the API and the activities.
func BatchWorkflowID(batchID string) string { return lifecycle.BatchWorkflowID(batchID) }

// CountyWorkflowID names a county's workflow within a batch.
func CountyWorkflowID(batchID, county string) string {
	return lifecycle.CountyWorkflowID(batchID, county)
}

// ObjectWorkflowID names one drawn object's workflow.
func ObjectWorkflowID(batchID, objectKey string) string {
	return lifecycle.ObjectWorkflowID(batchID, objectKey)
}
