package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/internal/notify"
)

// notice is a message to the contacts of a county and role. Its ID is its
// idempotency key: a replayed or retried send never reaches anyone twice.
type notice struct {
	ID, BatchID, County, ObjectKey, Role, Kind, Text string
}

var subjects = map[string]string{
	"assigned":   "双随机抽查任务已分配",
	"reminder":   "双随机抽查期限提醒",
	"escalation": "双随机抽查逾期督办",
	"calendar":   "工作日历需要补充",
}

// send delivers n through the notification activity. Delivery failures
// are retried by the activity; a notice that still fails is logged and the
// batch goes on, since a lost reminder must not stop the inspection.
func send(ctx workflow.Context, n notice) {
	payload := map[string]any{"batch_id": n.BatchID, "county": n.County}
	if n.ObjectKey != "" {
		payload["object_key"] = n.ObjectKey
	}
	msg := notify.Notification{ID: n.ID, Kind: n.Kind, RegionCode: n.County, Role: n.Role,
		Subject: subjects[n.Kind], Body: n.Text, Payload: payload}
	if err := workflow.ExecuteActivity(ctx, notifier.Notify, msg).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("notification not delivered", "id", n.ID, "error", err)
	}
}
