package activities

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/notify/notifytest"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// TestMain gives the package's tests a PostgreSQL database (testenv); it
// is the package's only TestMain.
func TestMain(m *testing.M) { testenv.Main(m) }

const configuredSecret = "configured-webhook-secret-01"

// rig is a Notifier on the test database with real receivers.
type rig struct {
	store    *notify.Store
	notifier *Notifier
	smtp     *notifytest.SMTPServer
	logs     *observer.ObservedLogs
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db := testenv.DB(t)
	store := notify.NewStore(db)
	// Leave nothing behind, so that the tests can run again in the database.
	t.Cleanup(func() {
		db.Exec(`DELETE FROM notification_deliveries`)
		db.Exec(`DELETE FROM notifications`)
		db.Exec(`DELETE FROM contacts`)
	})
	srv := notifytest.StartSMTP(t, "", "")
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	return &rig{
		store: store,
		smtp:  srv,
		logs:  logs,
		notifier: &Notifier{
			Store: store,
			Channels: map[string]notify.Channel{
				notify.ChannelWebhook: &notify.Webhook{Secret: configuredSecret},
				notify.ChannelEmail:   &notify.Email{Addr: srv.Addr, From: "嘉兴市自然资源和规划局 <spotcheck@example.gov.cn>"},
				notify.ChannelLog:     &notify.Log{Logger: log},
			},
			Log: log,
		},
	}
}

func (r *rig) contact(t *testing.T, in notify.NewContact) notify.Contact {
	t.Helper()
	c, err := r.store.AddContact(context.Background(), in, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run executes Notify in Temporal's test activity environment.
func (r *rig) run(t *testing.T, n notify.Notification) (NotifyResult, error) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(r.notifier)
	v, err := env.ExecuteActivity(r.notifier.Notify, n)
	var res NotifyResult
	if err == nil {
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
	}
	return res, err
}

func (r *rig) deliveries(t *testing.T, id string) map[int64]notify.Delivery {
	t.Helper()
	ds, err := r.store.Deliveries(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	m := map[int64]notify.Delivery{}
	for _, d := range ds {
		var cid int64
		if d.ContactID != nil {
			cid = *d.ContactID
		}
		m[cid] = d
	}
	return m
}

func reminder(id, region, role string) notify.Notification {
	return notify.Notification{
		ID: id, Kind: notify.KindReminder, RegionCode: region, Role: role,
		Subject: "抽查结果录入将于5个工作日后到期",
		Body:    "请于2026年10月21日前录入抽查检查结果。",
		Payload: map[string]any{"batch_id": "B-1", "due": "2026-10-21"},
	}
}

// nonRetryable reports whether err is an application error Temporal will
// not retry, and its type.
func nonRetryable(err error) (bool, string) {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return false, ""
	}
	return ae.NonRetryable(), ae.Type()
}

func TestNotifyDeliversOnceToEveryContact(t *testing.T) {
	r := newRig(t)
	own := notifytest.StartReceiver(t, "contact-own-secret-000111")
	shared := notifytest.StartReceiver(t, configuredSecret)
	region, role := "330402", notify.RoleCountyOfficer
	cOwn := r.contact(t, notify.NewContact{RegionCode: region, Role: role, Channel: "webhook", Address: own.URL + "/hook", Secret: "contact-own-secret-000111"})
	cShared := r.contact(t, notify.NewContact{RegionCode: region, Role: role, Channel: "webhook", Address: shared.URL + "/hook"})
	cMail := r.contact(t, notify.NewContact{RegionCode: region, Role: role, Name: "南湖分局经办人", Channel: "email", Address: "officer@nanhu.example.gov.cn"})
	cLog := r.contact(t, notify.NewContact{RegionCode: region, Role: role, Channel: "log", Address: "dashboard"})
	// Contacts of another role or region are not told.
	other := notifytest.StartReceiver(t, configuredSecret)
	r.contact(t, notify.NewContact{RegionCode: region, Role: notify.RoleCountyHead, Channel: "webhook", Address: other.URL})
	r.contact(t, notify.NewContact{RegionCode: "330411", Role: role, Channel: "webhook", Address: other.URL})

	n := reminder("reminder/batch/B-1/county/330402/result-due/5d", region, role)
	res, err := r.run(t, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != 4 || res.NoContact {
		t.Fatalf("result %+v", res)
	}
	for _, d := range res.Deliveries {
		if d.Status != notify.StatusDelivered || d.Attempt != 1 {
			t.Errorf("outcome %+v", d)
		}
	}
	for name, rcv := range map[string]*notifytest.Receiver{"own secret": own, "configured secret": shared} {
		reqs := rcv.Requests()
		if len(reqs) != 1 || !reqs[0].SignatureOK || reqs[0].Header.Get("X-Spotcheck-Delivery") != n.ID {
			t.Errorf("%s: %d requests %+v", name, len(reqs), reqs)
		}
	}
	if len(other.Requests()) != 0 {
		t.Error("a contact of another role or region was told")
	}
	mails := r.smtp.Mails()
	if len(mails) != 1 || mails[0].To[0] != "officer@nanhu.example.gov.cn" || !strings.Contains(string(mails[0].Data), "=?UTF-8?b?") {
		t.Errorf("mails %+v", mails)
	}
	if r.logs.FilterMessage("notification").FilterField(zap.Int64("contact_id", cLog.ID)).Len() != 1 {
		t.Error("log channel did not log the notification")
	}

	// Run again (a retry or a replayed workflow): nothing is sent twice.
	res, err = r.run(t, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Deliveries {
		if d.Status != notify.StatusDelivered || d.Attempt != 0 {
			t.Errorf("second run outcome %+v", d)
		}
	}
	if len(own.Requests()) != 1 || len(shared.Requests()) != 1 || len(r.smtp.Mails()) != 1 {
		t.Error("a delivered notification was sent again")
	}
	ds := r.deliveries(t, n.ID)
	for _, c := range []notify.Contact{cOwn, cShared, cMail, cLog} {
		d, ok := ds[c.ID]
		if !ok || d.Status != notify.StatusDelivered || d.Attempts != 1 || d.DeliveredAt == nil || d.Channel != c.Channel {
			t.Errorf("contact %d: delivery %+v", c.ID, d)
		}
	}
	if len(ds) != 4 {
		t.Errorf("%d delivery rows, want 4", len(ds))
	}
}

func TestNotifyRetriesOnlyWhatFailed(t *testing.T) {
	r := newRig(t)
	rcv := notifytest.StartReceiver(t, configuredSecret)
	region, role := "330411", notify.RoleCountyHead
	hook := r.contact(t, notify.NewContact{RegionCode: region, Role: role, Channel: "webhook", Address: rcv.URL})
	mail := r.contact(t, notify.NewContact{RegionCode: region, Role: role, Channel: "email", Address: "head@xiuzhou.example.gov.cn"})
	n := reminder("escalation/batch/B-2/county/330411/result-overdue", region, role)
	n.Kind = notify.KindEscalation

	rcv.Respond(503)
	_, err := r.run(t, n)
	if err == nil {
		t.Fatal("a failed delivery did not fail the activity")
	}
	if nr, _ := nonRetryable(err); nr {
		t.Errorf("a 503 is not retryable: %v", err)
	}
	if len(r.smtp.Mails()) != 1 {
		t.Fatalf("%d mails", len(r.smtp.Mails()))
	}
	ds := r.deliveries(t, n.ID)
	if d := ds[hook.ID]; d.Status != notify.StatusFailed || d.Attempts != 1 || !strings.Contains(d.LastError, "503") {
		t.Errorf("failed webhook recorded as %+v", d)
	}

	res, err := r.run(t, n)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if len(rcv.Requests()) != 2 || len(r.smtp.Mails()) != 1 {
		t.Errorf("retry sent %d webhook requests and %d mails in all; want 2 and 1", len(rcv.Requests()), len(r.smtp.Mails()))
	}
	ds = r.deliveries(t, n.ID)
	if d := ds[hook.ID]; d.Status != notify.StatusDelivered || d.Attempts != 2 {
		t.Errorf("webhook after retry %+v", d)
	}
	if d := ds[mail.ID]; d.Status != notify.StatusDelivered || d.Attempts != 1 {
		t.Errorf("mail after retry %+v", d)
	}
	if res.Deliveries[0].Attempt != 2 || res.Deliveries[1].Attempt != 0 {
		t.Errorf("retry outcomes %+v", res.Deliveries)
	}
}

func TestNotifyRefusedDeliveries(t *testing.T) {
	r := newRig(t)
	gone := notifytest.StartReceiver(t, configuredSecret)
	busy := notifytest.StartReceiver(t, configuredSecret)
	region, role := "330421", notify.RoleCountyOfficer
	cGone := r.contact(t, notify.NewContact{RegionCode: region, Role: role, Channel: "webhook", Address: gone.URL})
	r.contact(t, notify.NewContact{RegionCode: region, Role: role, Channel: "webhook", Address: busy.URL})
	cMail := r.contact(t, notify.NewContact{RegionCode: region, Role: role, Channel: "email", Address: "left@jiashan.example.gov.cn"})
	n := reminder("reminder/batch/B-3/county/330421/result-due/1d", region, role)

	gone.Respond(404)
	busy.Respond(429)
	r.smtp.FailRcpt(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"})
	_, err := r.run(t, n)
	if nr, _ := nonRetryable(err); err == nil || nr {
		t.Fatalf("with a 429 among the failures the activity must be retried: %v", err)
	}
	// The retry succeeds where it can; what was refused stays refused and is
	// not sent again, and now nothing is left to retry.
	_, err = r.run(t, n)
	nr, typ := nonRetryable(err)
	if !nr || typ != "NotificationRejected" || !strings.Contains(err.Error(), "404") {
		t.Fatalf("refusals only: %v (non-retryable %v, type %q)", err, nr, typ)
	}
	if len(gone.Requests()) != 1 || len(busy.Requests()) != 2 || len(r.smtp.Mails()) != 0 {
		t.Errorf("requests: gone %d, busy %d, mails %d", len(gone.Requests()), len(busy.Requests()), len(r.smtp.Mails()))
	}
	ds := r.deliveries(t, n.ID)
	if ds[cGone.ID].Status != notify.StatusRejected || ds[cMail.ID].Status != notify.StatusRejected || !strings.Contains(ds[cMail.ID].LastError, "mailbox unavailable") {
		t.Errorf("deliveries %+v", ds)
	}
}

func TestNotifyWithoutContact(t *testing.T) {
	r := newRig(t)
	n := reminder("reminder/batch/B-4/county/JXGQ/result-due/5d", "JXGQ", notify.RoleCountyHead)
	for range 2 {
		res, err := r.run(t, n)
		if err != nil || !res.NoContact {
			t.Fatalf("no contact: %+v, %v", res, err)
		}
	}
	ds := r.deliveries(t, n.ID)
	if len(ds) != 1 || ds[0].Status != notify.StatusNoContact {
		t.Errorf("deliveries %+v", ds)
	}
	if r.logs.FilterMessageSnippet("no contact").FilterField(zap.String("notification_id", n.ID)).Len() != 2 {
		t.Error("no warning logged")
	}
}

func TestNotifyRefusesBadInput(t *testing.T) {
	r := newRig(t)
	for _, n := range []notify.Notification{
		{ID: "x y", Kind: "reminder", RegionCode: "330402", Role: "county_officer", Subject: "s"},
		reminder("reminder/unknown-region", "999999", notify.RoleCountyOfficer),
	} {
		_, err := r.run(t, n)
		if nr, typ := nonRetryable(err); !nr || typ != "BadNotification" {
			t.Errorf("%+v: %v", n, err)
		}
	}
	// A channel this worker lacks is a refusal, not a retry loop.
	r.notifier.Channels = map[string]notify.Channel{notify.ChannelLog: r.notifier.Channels[notify.ChannelLog]}
	r.contact(t, notify.NewContact{RegionCode: "330424", Role: notify.RoleCountyOfficer, Channel: "email", Address: "a@haiyan.example.gov.cn"})
	_, err := r.run(t, reminder("reminder/no-smtp", "330424", notify.RoleCountyOfficer))
	if nr, _ := nonRetryable(err); !nr || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("missing channel: %v", err)
	}
}

// notifyWorkflow calls Notify as the batch workflow will: with a retry policy.
func notifyWorkflow(ctx workflow.Context, n notify.Notification) (NotifyResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
	})
	var res NotifyResult
	err := workflow.ExecuteActivity(ctx, "Notify", n).Get(ctx, &res)
	return res, err
}

// The retry policy, not the activity, retries a failing webhook.
func TestNotifyRetriedByTheRetryPolicy(t *testing.T) {
	r := newRig(t)
	rcv := notifytest.StartReceiver(t, configuredSecret)
	c := r.contact(t, notify.NewContact{RegionCode: "330481", Role: notify.RoleCityCoordinator, Channel: "webhook", Address: rcv.URL})
	rcv.Respond(500, 429)
	n := reminder("notice/batch/B-5/published", "330481", notify.RoleCityCoordinator)
	n.Kind = notify.KindNotice

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(notifyWorkflow)
	env.RegisterActivity(r.notifier)
	env.ExecuteWorkflow(notifyWorkflow, n)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: %v", env.GetWorkflowError())
	}
	if got := len(rcv.Requests()); got != 3 {
		t.Errorf("%d requests, want 3 (500, 429, 200)", got)
	}
	if d := r.deliveries(t, n.ID)[c.ID]; d.Status != notify.StatusDelivered || d.Attempts != 3 {
		t.Errorf("delivery %+v", d)
	}
}

// The worker's deadlines read the calendar from the database, and a year
// added there takes effect without a restart.
func TestDueDateFromTheDatabaseCalendar(t *testing.T) {
	db := testenv.DB(t)
	var _ CalendarSource = (*workday.Store)(nil)
	d := &Deadlines{Calendars: workday.NewStore(db)}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(d)
	due := func(start string, n int) Plan {
		t.Helper()
		from := mustDate(t, start)
		v, err := env.ExecuteActivity(d.Plan, PlanInput{Start: &from, WorkingDays: n})
		if err != nil {
			t.Fatal(err)
		}
		var got Plan
		if err := v.Get(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := due("2026-09-17", 20); got.Due == nil || got.Due.String() != "2026-10-21" {
		t.Errorf("2026-09-17 + 20 = %+v", got)
	}
	if got := due("2026-12-20", 15); got.Due != nil || got.Unscheduled != 2027 {
		t.Errorf("into 2027 before its schedule: %+v", got)
	}
	t.Cleanup(func() { db.Exec(`DELETE FROM calendar_years WHERE year = 2027`) })
	if _, _, err := workday.NewStore(db).PutSchedule(context.Background(), workday.Schedule{
		Year: 2027, Holidays: []workday.Date{mustDate(t, "2027-01-01")},
	}, "", "admin", 0); err != nil {
		t.Fatal(err)
	}
	// 2026-12-21..31 hold 9 working days; 2027-01-04..08 five more; 01-11 the 15th.
	if got := due("2026-12-20", 15); got.Due == nil || got.Due.String() != "2027-01-11" {
		t.Errorf("into 2027 after its schedule: %+v", got)
	}
}

func mustDate(t *testing.T, s string) workday.Date {
	t.Helper()
	d, err := workday.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
