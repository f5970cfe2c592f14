package library

import (
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// TestInspectorCounty: an inspector of a town belongs to the town's county,
// one of a county to that county; no such inspector is NotFound.
func TestInspectorCounty(t *testing.T) {
	s := newStore(t)
	sfx := strings.TrimPrefix(testenv.UniqueID(""), "-")
	town := "330424" + sfx
	if _, err := s.CreateRegion(ctx, alice, RegionInput{Code: town, Name: "测试镇" + sfx, ParentCode: "330424"}); err != nil {
		t.Fatal(err)
	}
	for key, region := range map[string]string{"IT" + sfx: town, "IC" + sfx: "330424"} {
		if _, err := s.CreateInspector(ctx, alice, InspectorInput{Key: key, Name: "张三", RegionCode: region}); err != nil {
			t.Fatal(err)
		}
		if county, err := s.InspectorCounty(ctx, key); err != nil || county != "330424" {
			t.Errorf("inspector of %s: county %q, %v", region, county, err)
		}
	}
	wantFault(t, errOnly(s.InspectorCounty(ctx, "none"+sfx)), fault.NotFound)
	wantFault(t, errOnly(s.ItemDepartment(ctx, "none"+sfx)), fault.NotFound)
	if top, err := s.TopRegion(ctx); err != nil || top != "330400" {
		t.Errorf("top region %q %v", top, err)
	}
}

func errOnly(_ string, err error) error { return err }
