package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/audit"
)

var auditHeads *activities.AuditHeads

// AuditHeadScheduleID names the Temporal Schedule that starts
// AuditHeadWorkflow every day.
const AuditHeadScheduleID = "audit-head"

// AuditHeadWorkflow publishes the day's head of the audit chain, so that a
// rewrite of the chain by whoever can write the database is noticed by
// anyone who kept the list (`spotcheck audit verify --heads`).
func AuditHeadWorkflow(ctx workflow.Context) (audit.Head, error) {
	var h audit.Head
	err := workflow.ExecuteActivity(withIO(ctx), auditHeads.PublishAuditHead).Get(ctx, &h)
	return h, err
}
