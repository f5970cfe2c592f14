package notify_test

import (
	"context"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// TestNamedWritesNamesBesideCodes: an escalation to the city about Haiyan
// reads the county's name beside its code, the object's credit code (which
// holds the same digits) stays as it is, and the payload names the county.
func TestNamedWritesNamesBesideCodes(t *testing.T) {
	st := notify.NewStore(testenv.DB(t))
	n := notify.Notification{ID: "escalation/B/K/result_entry", Kind: "escalation", RegionCode: "330400", Role: "city_coordinator",
		Subject: "330424 逾期", Body: "批次 B 检查对象 91330424MA2B0001X：330424 未在 2026-03-31 前完成检查结果录入，已记入问责台账",
		Payload: map[string]any{"county": "330424", "batch_id": "B"}}
	got, err := st.Named(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	if want := "批次 B 检查对象 91330424MA2B0001X：海盐县（330424） 未在 2026-03-31 前完成检查结果录入，已记入问责台账"; got.Body != want {
		t.Errorf("body %q\nwant %q", got.Body, want)
	}
	if got.Subject != "海盐县（330424） 逾期" || got.RegionName != "嘉兴市" || got.Payload["county_name"] != "海盐县" {
		t.Errorf("named %+v", got)
	}
	if n.Payload["county_name"] != nil {
		t.Error("the caller's payload was changed")
	}
	again, _ := st.Named(context.Background(), got)
	if again.Body != got.Body {
		t.Errorf("named twice: %q", again.Body)
	}
}

// TestContactTakesChineseTerms: a contact's role, channel and delivery are
// accepted as their Chinese terms and stored as codes.
func TestContactTakesChineseTerms(t *testing.T) {
	st := notify.NewStore(testenv.DB(t))
	c, err := st.AddContact(context.Background(), notify.NewContact{RegionCode: "平湖市", Role: "县局负责人", Name: "陆局长",
		Channel: "日志", Address: "pinghu-head-terms", Delivery: "每日汇总"}, "admin:li")
	if err != nil {
		t.Fatal(err)
	}
	if c.Role != notify.RoleCountyHead || c.Channel != notify.ChannelLog || c.Delivery != notify.DeliveryDigest || c.RegionCode != "330482" {
		t.Errorf("stored %+v", c)
	}
}
