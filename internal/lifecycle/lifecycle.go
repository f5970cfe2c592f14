// Package lifecycle is the vocabulary the batch workflows share with the
// activities and the API: the batch's input and policy, Update and Query
// names, workflow IDs and the registered workflow names. It imports none
// of them, so each can use it without a cycle. Saved histories depend on
// every name and on the JSON of every type here: they never change.
package lifecycle

import "fmt"

// BatchWorkflowName is the registered name of workflows.BatchWorkflow.
const BatchWorkflowName = "BatchWorkflow"

// Query and update names.
const (
	QueryProgress = "progress" // batch and county: counts by stage
	QueryState    = "state"    // object: stage, team and deadlines

	UpdateBeacon    = "beacon"            // batch: the public beacon for the draw
	UpdateMatch     = "match"             // county: run the inspector match
	UpdateInspected = "inspected"         // object: inspection completed
	UpdateResult    = "result"            // object: result entry
	UpdateReview    = "review"            // object: approve or return a result
	UpdateFollowUp  = "follow_up"         // object: follow-up completed / entered
	UpdateExtend    = "extend"            // object: a coordinator extends a deadline
	UpdateReplace   = "replace"           // object: replace one inspector of the team
	UpdateTransfer  = "judicial-transfer" // object: record the transfer of a suspected crime
	UpdateOpen      = "open"              // a county's page: start the workflow of one of its objects
)

// BatchWorkflowID is the business ID of a batch's workflow; a second start
// of the same batch is rejected by Temporal.
func BatchWorkflowID(batchID string) string { return "batch/" + batchID }

// CountyWorkflowID names a county's workflow within a batch.
func CountyWorkflowID(batchID, county string) string {
	return BatchWorkflowID(batchID) + "/county/" + county
}

// PartitionWorkflowID names the workflow that tracks page page of a
// county's matched objects.
func PartitionWorkflowID(batchID, county string, page int) string {
	return fmt.Sprintf("%s/part/%d", CountyWorkflowID(batchID, county), page)
}

// BulkTaskQueue is the task queue of the bulk activities beside queue:
// work of a page or a whole batch, served by its own worker slots so that
// it never holds up the activities people wait for.
func BulkTaskQueue(queue string) string { return queue + "-bulk" }

// ObjectWorkflowID names one drawn object's workflow.
func ObjectWorkflowID(batchID, objectKey string) string {
	return BatchWorkflowID(batchID) + "/object/" + objectKey
}
