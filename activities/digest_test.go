package activities

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/spotcheck-gov/spotcheck/internal/digest"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/notify/notifytest"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

var jiaxingCounties = []string{"330402", "330411", "330421", "330424", "330481", "330482", "330483", "JXJK", "JXGQ"}

// digestRig seeds a 2,000-object batch over the nine counties straight
// into the task rows (no object workflows) with digest contacts on
// DingTalk and WeChat Work robots.
type digestRig struct {
	*rig
	digests  *Digests
	ding     *notifytest.ChatReceiver
	wecom    *notifytest.ChatReceiver
	batch    string
	contacts map[string]notify.Contact // by name
	clock    time.Time
}

func newDigestRig(t *testing.T) *digestRig {
	r := &digestRig{rig: newRig(t), contacts: map[string]notify.Contact{},
		clock: time.Date(2026, 12, 3, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	db := testenv.DB(t)
	now := func() time.Time { return r.clock }
	r.ding = notifytest.StartDingTalk(t, now)
	r.wecom = notifytest.StartWeCom(t, now)
	r.notifier.Channels[notify.ChannelDingTalk] = &notify.DingTalk{BaseURL: r.ding.URL, Now: now}
	r.notifier.Channels[notify.ChannelWeCom] = &notify.WeCom{BaseURL: r.wecom.URL}
	r.digests = &Digests{Source: DigestStores{Contacts: r.store, Tasks: digest.NewStore(db)}, Notifier: r.notifier, Calendars: StaticCalendar{Cal: workday.Default()},
		CountyPage: "https://spotcheck.example.gov.cn/counties/{county}"}

	r.batch = fmt.Sprintf("digest-%d", time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC).Unix()%100000)
	prefix := "DG" + r.batch[len(r.batch)-5:] + "-"
	t.Cleanup(func() {
		db.Exec(`DELETE FROM tasks WHERE batch_id = $1`, r.batch)
		db.Exec(`DELETE FROM objects WHERE key LIKE $1`, prefix+"%")
	})
	// Four kinds of object, in turn: inspection due in 3 working days,
	// result entry overdue, inspection due after the horizon, closed.
	for i, q := range []string{
		`INSERT INTO objects (key, kind, name, region_code)
		 SELECT $1 || i, 'enterprise', '嘉兴测试企业' || lpad(i::text, 4, '0') || '号', ($2::text[])[1 + i % 9]
		 FROM generate_series(0, 1999) AS i`,
		`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, inspection_due, inspected_on, result_due, overdue)
		 SELECT $3, $1 || i, ($2::text[])[1 + i % 9],
		        (ARRAY['assigned', 'inspected', 'assigned', 'closed'])[1 + i % 4], '{I1,I2}',
		        (ARRAY['2026-12-08', '2026-11-10', '2026-12-31', '2026-11-10'])[1 + i % 4]::date,
		        CASE WHEN i % 4 IN (1, 3) THEN date '2026-11-09' END,
		        CASE WHEN i % 4 IN (1, 3) THEN date '2026-12-01' END,
		        CASE WHEN i % 4 = 1 THEN '{result_entry}'::text[] ELSE '{}' END
		 FROM generate_series(0, 1999) AS i`,
	} {
		args := []any{prefix, pqArray(jiaxingCounties), r.batch}
		if _, err := db.Exec(q, args[:2+i]...); err != nil {
			t.Fatal(err)
		}
	}
	add := func(name string, in notify.NewContact) {
		in.Name = name
		r.contacts[name] = r.contact(t, in)
	}
	for i, county := range jiaxingCounties {
		token := fmt.Sprintf("robot-%s-0000", strings.ToLower(county))
		r.ding.AddRobot(token, "SEC-secret-of-"+token)
		add("officer-"+county, notify.NewContact{RegionCode: county, Role: notify.RoleCountyOfficer, Channel: notify.ChannelDingTalk,
			Address: token, Secret: "SEC-secret-of-" + token, Mobile: fmt.Sprintf("1380000%04d", i), Delivery: notify.DeliveryDigest})
	}
	r.wecom.AddRobot("693a91f6-7b2c-4bc4-97a0-0ec2a1fa5aaa", "")
	add("wecom-330402", notify.NewContact{RegionCode: "330402", Role: notify.RoleCountyOfficer, Channel: notify.ChannelWeCom,
		Address: "693a91f6-7b2c-4bc4-97a0-0ec2a1fa5aaa", Delivery: notify.DeliveryDigest})
	// The city's officer sees every county, in one digest.
	r.ding.AddRobot("robot-city-0000", "SEC-secret-of-robot-city")
	add("city", notify.NewContact{RegionCode: "330400", Role: notify.RoleCountyOfficer, Channel: notify.ChannelDingTalk,
		Address: "robot-city-0000", Secret: "SEC-secret-of-robot-city", Delivery: notify.DeliveryDigest})
	// An officer who asked for every reminder at once.
	add("immediate-330402", notify.NewContact{RegionCode: "330402", Role: notify.RoleCountyOfficer, Channel: notify.ChannelLog, Address: "值班台"})
	return r
}

func pqArray(s []string) string { return "{" + strings.Join(s, ",") + "}" }

// runDay runs a day's digests as DigestWorkflow does: plan, then one
// SendDigest per contact.
func (r *digestRig) runDay(t *testing.T, day string) DigestDay {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(r.digests)
	d, _ := workday.ParseDate(day)
	v, err := env.ExecuteActivity(r.digests.PlanDigests, d)
	if err != nil {
		t.Fatal(err)
	}
	var plan DigestDay
	if err := v.Get(&plan); err != nil {
		t.Fatal(err)
	}
	for _, id := range plan.Contacts {
		if _, err := env.ExecuteActivity(r.digests.SendDigest, DigestInput{ContactID: id, Day: plan.Day, Horizon: *plan.Horizon}); err != nil {
			t.Fatalf("digest to contact %d: %v", id, err)
		}
	}
	return plan
}

func TestDigestOneMessagePerContactPerWorkingDay(t *testing.T) {
	r := newDigestRig(t)
	// Reminders of 90 objects (ten a county): held for the digest contacts,
	// sent at once to the one immediate contact.
	for i := 0; i < 90; i++ {
		n := reminder(fmt.Sprintf("reminder/%s/obj-%d/inspection/2026-12-03", r.batch, i), jiaxingCounties[i%9], notify.RoleCountyOfficer)
		n.Payload = map[string]any{"batch_id": r.batch, "object_key": fmt.Sprintf("obj-%d", i)}
		res, err := r.run(t, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.Deliveries {
			want := notify.StatusDigested
			if d.ContactID == r.contacts["immediate-330402"].ID {
				want = notify.StatusDelivered
			}
			if d.Status != want {
				t.Fatalf("reminder %s to contact %d: %s, want %s", n.ID, d.ContactID, d.Status, want)
			}
		}
	}
	if n := len(r.ding.Messages()) + len(r.wecom.Messages()); n != 0 {
		t.Fatalf("%d reminders reached a robot before the digest", n)
	}
	// Assignments go at once, also to digest contacts.
	assigned := reminder("batch-assigned/"+r.batch+"/330402", "330402", notify.RoleCountyOfficer)
	assigned.Kind = "assigned"
	if _, err := r.run(t, assigned); err != nil {
		t.Fatal(err)
	}
	// 南湖区's officer and the city's on DingTalk, 南湖's WeChat Work group.
	if d, w := len(r.ding.Accepted()), len(r.wecom.Accepted()); d != 2 || w != 1 {
		t.Fatalf("assignment: %d DingTalk and %d WeChat Work messages, want 2 and 1", d, w)
	}

	plan := r.runDay(t, "2026-12-03")
	if !plan.WorkingDay || plan.Horizon == nil || plan.Horizon.String() != "2026-12-10" || len(plan.Contacts) != 11 {
		t.Fatalf("plan %+v", plan)
	}
	r.runDay(t, "2026-12-03") // a second run the same day sends nothing
	r.clock = r.clock.Add(24 * time.Hour)
	r.runDay(t, "2026-12-04")
	r.clock = r.clock.Add(24 * time.Hour)
	if plan := r.runDay(t, "2026-12-05"); plan.WorkingDay || len(plan.Contacts) != 0 {
		t.Errorf("Saturday: %+v", plan)
	}

	// One message per contact and working day: robots got 10 + 1 contacts
	// × 2 days digests, plus the assignment.
	perToken := map[string]int{}
	for _, m := range r.ding.Messages() {
		if !m.SignatureOK {
			t.Errorf("DingTalk message without a valid signature: %+v", m)
		}
	}
	for _, m := range append(r.ding.Messages(), r.wecom.Messages()...) {
		if m.ErrCode != 0 {
			t.Errorf("robot refused %+v", m)
		}
		perToken[m.Token]++
	}
	for token, n := range perToken {
		want := 2
		if token == "robot-330402-0000" || token == "robot-city-0000" || token == "693a91f6-7b2c-4bc4-97a0-0ec2a1fa5aaa" {
			want = 3 // and the assignment
		}
		if n != want {
			t.Errorf("robot %s: %d messages over two working days, want %d", token, n, want)
		}
	}
	if len(perToken) != 11 {
		t.Errorf("%d robots reached, want 11", len(perToken))
	}

	// The county's digest: its objects of this batch, 2,000 / 9 ≈ 222, a
	// quarter due soon and a quarter overdue, with the first 20 by name.
	var nanhu notifytest.ChatMessage
	for _, m := range r.ding.Accepted() {
		if m.Token == "robot-330402-0000" && strings.HasPrefix(m.Title, "双随机抽查每日待办") {
			nanhu = m
			break
		}
	}
	for _, want := range []string{
		"南湖区，2026年12月3日待办", "县局页面：https://spotcheck.example.gov.cn/counties/330402",
		"【批次 " + r.batch + " · 检查】即将到期 56 项，已逾期 0 项", "【批次 " + r.batch + " · 检查结果录入】即将到期 0 项，已逾期 56 项",
		"- 嘉兴测试企业0000号（到期 2026-12-08）", "- 另有 36 项，请登录系统查看", "@13800000000",
	} {
		if !strings.Contains(nanhu.Text, want) {
			t.Errorf("南湖区 digest lacks %q:\n%s", want, nanhu.Text)
		}
	}
	// Every delivery recorded once: one row per digest and contact.
	db := testenv.DB(t)
	var rows, digests int
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT notification_id) FROM notification_deliveries WHERE notification_id LIKE 'digest/%' AND status = 'delivered'`).Scan(&rows, &digests); err != nil {
		t.Fatal(err)
	}
	if rows != 22 || digests != 22 {
		t.Errorf("%d delivered digest rows of %d digests, want 22 of 22", rows, digests)
	}
	var held int
	if err := db.QueryRow(`SELECT count(*) FROM notification_deliveries WHERE status = 'digested'`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != 90*2+10 { // each county's officer and the city's; 南湖's WeChat Work robot
		t.Errorf("%d reminders held for digests, want 190", held)
	}
}

// In the last days of a year before the next year's schedule is out, the
// digests still go out and look as far as the calendar can count; on a
// day of a year without a schedule none can be planned.
func TestDigestAtYearEndWithoutNextYear(t *testing.T) {
	r := newDigestRig(t)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(r.digests)
	plan := func(day string) DigestDay {
		d, _ := workday.ParseDate(day)
		v, err := env.ExecuteActivity(r.digests.PlanDigests, d)
		if err != nil {
			t.Fatal(err)
		}
		var p DigestDay
		if err := v.Get(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := plan("2026-12-28"); !p.WorkingDay || p.Horizon == nil || p.Horizon.String() != "2026-12-31" || p.Unscheduled != 2027 || len(p.Contacts) == 0 {
		t.Errorf("2026-12-28: %+v", p)
	}
	if p := plan("2027-01-04"); p.WorkingDay || p.Horizon != nil || p.Unscheduled != 2027 || len(p.Contacts) != 0 {
		t.Errorf("2027-01-04: %+v", p)
	}
}
