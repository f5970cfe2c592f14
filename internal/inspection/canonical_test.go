package inspection

import (
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/library"
)

func TestCanonical(t *testing.T) {
	r := Result{Code: " 发现问题经责令已改正", Method: "网络监测", FollowUpAction: "立案查处"}.Canonical()
	if r.Code != "corrected" || r.Method != "online" || r.FollowUpAction != "case_filed" {
		t.Errorf("canonical result = %+v", r)
	}
	if r := (Result{Code: "nonsense", Method: "by phone"}).Canonical(); r.Code != "nonsense" || r.Method != "by phone" {
		t.Errorf("unknown values were changed: %+v", r)
	}
	f := FollowUpEntry{Actions: []string{"移送司法机关", "order_correction", "bogus"}}.Canonical()
	if strings.Join(f.Actions, ",") != "judicial_transfer,order_correction,bogus" {
		t.Errorf("canonical actions = %v", f.Actions)
	}
	if err := CheckResult(Result{Code: "未发现问题", Method: "on_site", EnteredBy: Actor{Role: "county_officer", County: "330402"}}, "330402", nil); err == nil {
		t.Error("a Chinese term reached the workflow's check uncanonicalised and passed")
	}
}

func TestCheckMethod(t *testing.T) {
	onSite := []library.ItemMethods{{Code: "ZR-08", Methods: []string{"on_site"}}}
	if err := CheckMethod("on_site", onSite); err != nil {
		t.Errorf("on site for ZR-08: %v", err)
	}
	err := CheckMethod("online", onSite)
	if err == nil || !strings.Contains(err.Error(), "online (网络监测) is not a method of item ZR-08; allowed: on_site (实地检查)") {
		t.Errorf("online for ZR-08: %v", err)
	}
	joint := append(onSite, library.ItemMethods{Code: "ZR-01", Methods: []string{"on_site", "written"}})
	if err := CheckMethod("written", joint); err != nil {
		t.Errorf("written for a joint visit with ZR-01: %v", err)
	}
	if err := CheckMethod("testing", nil); err != nil {
		t.Errorf("a targeted case has no item list: %v", err)
	}
}
