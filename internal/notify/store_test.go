package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clean removes what a test stored, so that the tests can run again in the
// package's database.
func clean(t *testing.T) {
	db := testenv.DB(t)
	t.Cleanup(func() {
		db.Exec(`DELETE FROM notification_deliveries`)
		db.Exec(`DELETE FROM notifications`)
		db.Exec(`DELETE FROM contacts`)
	})
}

func TestAddContactValidates(t *testing.T) {
	ctx := context.Background()
	st := notify.NewStore(testenv.DB(t))
	cases := []struct {
		in     notify.NewContact
		fields []string
	}{
		{notify.NewContact{}, []string{"region_code", "role", "channel"}},
		{notify.NewContact{RegionCode: "999999", Role: "county_officer", Channel: "email", Address: "a@b.cn"}, []string{"region_code"}},
		{notify.NewContact{RegionCode: "330402", Role: "mayor", Channel: "email", Address: "a@b.cn"}, []string{"role"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "sms", Address: "13800000000"}, []string{"channel"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "email", Address: "王科长 <a@b.cn>"}, []string{"address"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "email", Address: "not-an-address"}, []string{"address"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "email", Address: "a@b.cn", Secret: "0123456789abcdef"}, []string{"secret"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "webhook", Address: "ftp://x.cn/hook"}, []string{"address"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "webhook", Address: "https:///hook"}, []string{"address"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "webhook", Address: "https://user:pw@x.cn/hook"}, []string{"address"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "webhook", Address: "hook.example.cn"}, []string{"address"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "webhook", Address: "https://x.cn/hook", Secret: "short"}, []string{"secret"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "log", Address: "a\nb"}, []string{"address"}},
	}
	for _, c := range cases {
		_, err := st.AddContact(ctx, c.in, "admin")
		e, ok := fault.As(err)
		if !ok || e.Kind != fault.Invalid {
			t.Errorf("%+v: %v, want invalid", c.in, err)
			continue
		}
		var got []string
		for _, p := range e.Problems {
			got = append(got, p.Field)
		}
		if strings.Join(got, ",") != strings.Join(c.fields, ",") {
			t.Errorf("%+v: problems on %v, want %v (%v)", c.in, got, c.fields, err)
		}
	}
}

func TestContactsLifecycle(t *testing.T) {
	clean(t)
	ctx := context.Background()
	st := notify.NewStore(testenv.DB(t))
	// The region may be given by name.
	c1, err := st.AddContact(ctx, notify.NewContact{RegionCode: "海盐县", Role: "county_head", Name: "张局长", Channel: "email", Address: "zhang@haiyan.example.gov.cn"}, "admin:li")
	if err != nil {
		t.Fatal(err)
	}
	if c1.RegionCode != "330424" || c1.RegionName != "海盐县" || c1.CreatedBy != "admin:li" || c1.HasSecret {
		t.Errorf("contact %+v", c1)
	}
	c2, err := st.AddContact(ctx, notify.NewContact{RegionCode: "330424", Role: "county_head", Channel: "webhook", Address: "https://hooks.example.cn/haiyan?k=1", Secret: "0123456789abcdef0123"}, "admin:li")
	if err != nil {
		t.Fatal(err)
	}
	if !c2.HasSecret || c2.Secret != "0123456789abcdef0123" {
		t.Errorf("webhook contact %+v", c2)
	}
	if _, err := st.AddContact(ctx, notify.NewContact{RegionCode: "330424", Role: "county_head", Channel: "email", Address: "zhang@haiyan.example.gov.cn"}, "admin:wang"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("duplicate: %v", err)
	}
	got, err := st.ContactsFor(ctx, "330424", "county_head")
	if err != nil || len(got) != 2 || got[0].ID != c1.ID || got[1].ID != c2.ID {
		t.Fatalf("ContactsFor = %+v, %v", got, err)
	}
	page, err := st.Contacts(ctx, notify.ContactFilter{RegionCode: "海盐县", Role: "county_head"}, 0, 1)
	if err != nil || len(page) != 1 || page[0].ID != c1.ID {
		t.Fatalf("first page %+v, %v", page, err)
	}
	page, err = st.Contacts(ctx, notify.ContactFilter{RegionCode: "330424"}, page[0].ID, 10)
	if err != nil || len(page) != 1 || page[0].ID != c2.ID {
		t.Fatalf("second page %+v, %v", page, err)
	}
	if _, err := st.Contacts(ctx, notify.ContactFilter{Role: "mayor"}, 0, 10); fault.KindOf(err) != fault.Invalid {
		t.Errorf("bad filter: %v", err)
	}

	if err := st.DeleteContact(ctx, c1.ID, "admin:wang"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteContact(ctx, c1.ID, "admin:wang"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("second delete: %v", err)
	}
	if _, err := st.Contact(ctx, c1.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("deleted contact still readable: %v", err)
	}
	if got, _ := st.ContactsFor(ctx, "330424", "county_head"); len(got) != 1 || got[0].ID != c2.ID {
		t.Errorf("after delete: %+v", got)
	}
	// The same address may be added again once the old one is gone.
	if _, err := st.AddContact(ctx, notify.NewContact{RegionCode: "330424", Role: "county_head", Channel: "email", Address: "zhang@haiyan.example.gov.cn"}, "admin:wang"); err != nil {
		t.Errorf("re-add after delete: %v", err)
	}
}

func TestDeliveryRecords(t *testing.T) {
	clean(t)
	ctx := context.Background()
	st := notify.NewStore(testenv.DB(t))
	c, err := st.AddContact(ctx, notify.NewContact{RegionCode: "330482", Role: "county_officer", Channel: "log"}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	n := sample()
	n.ID = "test/delivery-records"
	n.RegionCode = "330482"
	if err := st.SaveNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveNotification(ctx, n); err != nil {
		t.Fatalf("saving again: %v", err)
	}
	reused := n
	reused.Role = notify.RoleCountyHead
	if err := st.SaveNotification(ctx, reused); fault.KindOf(err) != fault.Conflict {
		t.Errorf("ID reused for another role: %v", err)
	}
	unknown := n
	unknown.ID, unknown.RegionCode = "test/unknown-region", "999999"
	if err := st.SaveNotification(ctx, unknown); fault.KindOf(err) != fault.Invalid {
		t.Errorf("unknown region: %v", err)
	}

	lease := time.Hour
	cl, err := st.ClaimDelivery(ctx, n.ID, c, lease)
	a1 := cl.Attempt
	if err != nil || a1 != 1 || cl.Status != notify.StatusSending {
		t.Fatalf("first claim: %+v %v", cl, err)
	}
	// Another attempt while the first holds the lease gets nothing.
	if cl, err := st.ClaimDelivery(ctx, n.ID, c, lease); err != nil || cl.Attempt != 0 || cl.Status != notify.StatusSending {
		t.Errorf("claim during lease: %+v %v", cl, err)
	}
	if s, err := st.FinishDelivery(ctx, n.ID, c.ID, a1, errors.New("connection reset")); err != nil || s != notify.StatusFailed {
		t.Fatalf("finish failed: %s %v", s, err)
	}
	cl, err = st.ClaimDelivery(ctx, n.ID, c, lease)
	a2 := cl.Attempt
	if err != nil || a2 != 2 || cl.LastError != "connection reset" {
		t.Fatalf("claim after failure: %+v %v", cl, err)
	}
	// A stale attempt cannot overwrite the current one's outcome.
	if _, err := st.FinishDelivery(ctx, n.ID, c.ID, a1, nil); err != nil {
		t.Fatal(err)
	}
	if s, err := st.FinishDelivery(ctx, n.ID, c.ID, a2, nil); err != nil || s != notify.StatusDelivered {
		t.Fatalf("finish delivered: %s %v", s, err)
	}
	if cl, _ := st.ClaimDelivery(ctx, n.ID, c, 0); cl.Attempt != 0 || cl.Status != notify.StatusDelivered {
		t.Errorf("claim after delivery: %+v", cl)
	}
	ds, err := st.Deliveries(ctx, n.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %+v %v", ds, err)
	}
	d := ds[0]
	if d.Status != notify.StatusDelivered || d.Attempts != 2 || d.LastError != "connection reset" || d.DeliveredAt == nil || *d.ContactID != c.ID {
		t.Errorf("delivery %+v", d)
	}

	// An expired lease (an attempt that died) is taken over.
	c2, _ := st.AddContact(ctx, notify.NewContact{RegionCode: "330482", Role: "county_officer", Channel: "log", Address: "second"}, "admin")
	if cl, _ := st.ClaimDelivery(ctx, n.ID, c2, lease); cl.Attempt != 1 {
		t.Fatalf("claim c2: %+v", cl)
	}
	if cl, _ := st.ClaimDelivery(ctx, n.ID, c2, 0); cl.Attempt != 2 {
		t.Errorf("claim after the lease expired: %+v", cl)
	}
	if s, _ := st.FinishDelivery(ctx, n.ID, c2.ID, 2, notify.Permanent(errors.New("410 Gone"))); s != notify.StatusRejected {
		t.Errorf("permanent failure recorded as %s", s)
	}
	if cl, _ := st.ClaimDelivery(ctx, n.ID, c2, 0); cl.Attempt != 0 || cl.Status != notify.StatusRejected || cl.LastError != "410 Gone" {
		t.Errorf("claim after rejection: %+v", cl)
	}

	n2 := n
	n2.ID = "test/no-contact"
	if err := st.SaveNotification(ctx, n2); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := st.RecordNoContact(ctx, n2.ID); err != nil {
			t.Fatal(err)
		}
	}
	if ds, _ := st.Deliveries(ctx, n2.ID); len(ds) != 1 || ds[0].Status != notify.StatusNoContact || ds[0].ContactID != nil {
		t.Errorf("no-contact records %+v", ds)
	}
}

func TestAddChatContacts(t *testing.T) {
	clean(t)
	ctx := context.Background()
	st := notify.NewStore(testenv.DB(t))
	// The whole webhook URL, as copied from the robot's settings.
	c, err := st.AddContact(ctx, notify.NewContact{RegionCode: "南湖区", Role: "county_officer", Name: "南湖分局经办群", Channel: "dingtalk",
		Address: "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123", Secret: "SEC0123456789abcdef0123",
		Mobile: "13800000001", Delivery: "digest"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.Address != "0123456789abcdef0123" || c.Mobile != "13800000001" || c.Delivery != "digest" || !c.HasSecret {
		t.Errorf("contact %+v", c)
	}
	w, err := st.AddContact(ctx, notify.NewContact{RegionCode: "330402", Role: "county_head", Channel: "wecom",
		Address: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7b2c-4bc4-97a0-0ec2a1fa5aaa"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if w.Address != "693a91f6-7b2c-4bc4-97a0-0ec2a1fa5aaa" || w.Delivery != "immediate" {
		t.Errorf("contact %+v", w)
	}
	digest, err := st.DigestContacts(ctx)
	if err != nil || len(digest) != 1 || digest[0].ID != c.ID {
		t.Errorf("digest contacts %+v, %v", digest, err)
	}
	cases := []struct {
		in     notify.NewContact
		fields []string
	}{
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "dingtalk", Address: "0123456789abcdef0123"}, []string{"secret"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "dingtalk", Address: "a b", Secret: "SEC0123456789abcdef0123"}, []string{"address"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "wecom", Address: "693a91f6-7b2c", Secret: "SEC0123456789abcdef0123"}, []string{"secret"}},
		{notify.NewContact{RegionCode: "330402", Role: "county_officer", Channel: "log", Mobile: "138", Delivery: "weekly"}, []string{"mobile", "delivery"}},
	}
	for _, tc := range cases {
		_, err := st.AddContact(ctx, tc.in, "test")
		e, ok := fault.As(err)
		if !ok || e.Kind != fault.Invalid {
			t.Errorf("%+v: %v, want invalid", tc.in, err)
			continue
		}
		var got []string
		for _, p := range e.Problems {
			got = append(got, p.Field)
		}
		if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
			t.Errorf("%+v: fields %v, want %v", tc.in, got, tc.fields)
		}
	}
}
