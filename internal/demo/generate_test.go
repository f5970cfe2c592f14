package demo

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spotcheck-gov/spotcheck/internal/uscc"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func generate(t *testing.T, opt Options) Data {
	t.Helper()
	d, err := Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGenerateIsDeterministicAndNested(t *testing.T) {
	a, b := generate(t, Options{}), generate(t, Options{})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of Generate differ")
	}
	if len(a.Objects) != DefaultObjects || len(a.Inspectors) != DefaultInspectors || len(a.Conflicts) != DefaultConflicts {
		t.Fatalf("default sizes: %d objects, %d inspectors, %d conflicts", len(a.Objects), len(a.Inspectors), len(a.Conflicts))
	}
	small := generate(t, Options{Objects: 2000, Inspectors: 60})
	if !reflect.DeepEqual(small.Objects, a.Objects[:2000]) || !reflect.DeepEqual(small.Inspectors, a.Inspectors[:60]) {
		t.Error("the small set is not a prefix of the default one")
	}
	if !reflect.DeepEqual(small.Conflicts, a.Conflicts) || !reflect.DeepEqual(small.Contacts, a.Contacts) ||
		!reflect.DeepEqual(small.CheckItems, a.CheckItems) || !reflect.DeepEqual(small.Departments, a.Departments) {
		t.Error("the small set has other conflicts, contacts, items or departments")
	}
	// Generate hands out copies: changing one set leaves the next alone.
	small.CheckItems[0].ObjectTags[0] = "changed"
	if generate(t, Options{}).CheckItems[0].ObjectTags[0] == "changed" {
		t.Error("Generate shares the item list between calls")
	}
}

func TestOptionsOutOfRange(t *testing.T) {
	for _, opt := range []Options{
		{Objects: MinObjects - 1},
		{Objects: -5},
		{Inspectors: MinInspectors - 1},
		{Conflicts: -1},
		{Inspectors: 60, Conflicts: 61},
	} {
		if _, err := Generate(opt); err == nil {
			t.Errorf("%+v: no error", opt)
		}
	}
	if _, err := Generate(Options{Objects: MinObjects, Inspectors: MinInspectors}); err != nil {
		t.Errorf("the smallest set: %v", err)
	}
}

var (
	projectKey = regexp.MustCompile(`^JX-[A-Z]{2,4}-20(19|2[0-5])-[0-9]{5,}$`)
	publicText = regexp.MustCompile(`^[^\t\r\n]+$`)
)

func TestGeneratedObjects(t *testing.T) {
	d := generate(t, Options{})
	divisions := map[string]string{}
	for _, c := range counties {
		divisions[c.code] = c.division
	}
	keys, names := map[string]bool{}, map[string]bool{}
	risk, credit, kinds, regions := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	inspected, inactive := 0, 0
	from, to := inspectedFrom.String(), inspectedTo.String()
	for i, o := range d.Objects {
		if keys[o.Key] || names[o.Name] {
			t.Fatalf("object %d: key %s or name %s repeats", i, o.Key, o.Name)
		}
		keys[o.Key], names[o.Name] = true, true
		if !publicText.MatchString(o.Key) || utf8.RuneCountInString(o.Key) > 64 || !publicText.MatchString(o.Name) {
			t.Fatalf("object %d: key %q or name %q cannot be published", i, o.Key, o.Name)
		}
		switch o.Kind {
		case "enterprise":
			if err := uscc.Validate(o.Key); err != nil || o.Key[2:8] != divisions[o.RegionCode] {
				t.Fatalf("object %d in %s: credit code %s: %v", i, o.RegionCode, o.Key, err)
			}
			if !strings.HasPrefix(o.Address, "浙江省嘉兴") || !strings.HasSuffix(o.Address, "号") {
				t.Errorf("object %d: address %q", i, o.Address)
			}
		default:
			if !projectKey.MatchString(o.Key) {
				t.Fatalf("object %d: key %q", i, o.Key)
			}
		}
		if !strings.HasSuffix(o.Station, "自然资源所") || len(o.Tags) == 0 {
			t.Fatalf("object %d: station %q, tags %v", i, o.Station, o.Tags)
		}
		if o.LastInspectedAt != "" {
			if o.LastInspectedAt < from || o.LastInspectedAt > to {
				t.Errorf("object %d: last inspected %s, outside %s..%s", i, o.LastInspectedAt, from, to)
			}
			inspected++
		}
		if o.Status != "active" {
			inactive++
		}
		risk[o.RiskLevel]++
		credit[o.CreditClass]++
		kinds[o.Kind]++
		regions[o.RegionCode]++
	}
	n := float64(len(d.Objects))
	near := func(what string, got int, want float64) {
		t.Helper()
		if share := float64(got) / n; share < want-0.015 || share > want+0.015 {
			t.Errorf("%s: %.3f of the objects, want %.2f", what, share, want)
		}
	}
	for level, want := range map[string]float64{"low": .40, "normal": .40, "raised": .15, "high": .05} {
		near("risk "+level, risk[level], want)
	}
	for class, want := range map[string]float64{"A": .30, "B": .50, "C": .15, "D": .05} {
		near("credit "+class, credit[class], want)
	}
	for _, c := range counties {
		near("region "+c.code, regions[c.code], float64(c.weight)/100)
	}
	near("inspected in the last two years", inspected, .25)
	if inactive == 0 || inactive > len(d.Objects)/20 {
		t.Errorf("%d objects are not active; want a few", inactive)
	}
	if kinds["enterprise"] < 5000 || kinds["project"] < 13500 || kinds["product"] < 500 {
		t.Errorf("kinds: %v", kinds)
	}
}

func TestGeneratedInspectors(t *testing.T) {
	d := generate(t, Options{})
	keyFormat := regexp.MustCompile(`^(JX[0-9]{6}|JXJK|JXGQ)-[0-9]{4}$`)
	perCounty, certs := map[string]int{}, map[string]bool{}
	expiring, expired, inactive := 0, 0, 0
	for _, in := range d.Inspectors {
		if !keyFormat.MatchString(in.Key) || !strings.Contains(in.Key, in.RegionCode) {
			t.Errorf("key %s in %s", in.Key, in.RegionCode)
		}
		if certs[in.CertificateNo] {
			t.Errorf("certificate %s repeats", in.CertificateNo)
		}
		certs[in.CertificateNo] = true
		if *in.MaxLoad < 20 || *in.MaxLoad > 40 || len(in.Tags) == 0 || in.Unit == "" || utf8.RuneCountInString(in.Name) < 2 {
			t.Errorf("%s: %+v", in.Key, in)
		}
		until, err := workday.ParseDate(in.CertificateValidUntil)
		if err != nil {
			t.Fatal(err)
		}
		if until.Before(ExpiringBefore) {
			expiring++
		}
		if !until.After(expiredBy) {
			expired++
		}
		if in.Status != "active" {
			inactive++
		}
		perCounty[in.RegionCode]++
	}
	if share := float64(expiring) / float64(len(d.Inspectors)); share < .06 || share > .15 || expired == 0 || expired >= expiring {
		t.Errorf("%d certificates end before %s (%.2f), %d have ended; want about a tenth, a few of them ended",
			expiring, ExpiringBefore, share, expired)
	}
	if inactive == 0 || inactive > 20 {
		t.Errorf("%d inspectors are not active; want a few", inactive)
	}
	for _, c := range counties {
		if perCounty[c.code] < coreStaff+4 {
			t.Errorf("%s has %d inspectors", c.code, perCounty[c.code])
		}
	}
}

func TestGeneratedConflictsAndContacts(t *testing.T) {
	d := generate(t, Options{})
	region := map[string]string{}
	for _, o := range d.Objects {
		region[o.Key] = o.RegionCode
	}
	for _, in := range d.Inspectors {
		region[in.Key] = in.RegionCode
	}
	objects := map[string]bool{}
	for _, c := range d.Conflicts {
		if region[c.InspectorKey] == "" || region[c.InspectorKey] != region[c.ObjectKey] || c.Reason == "" || objects[c.ObjectKey] {
			t.Errorf("conflict %+v", c)
		}
		objects[c.ObjectKey] = true
	}
	roles := map[string][]string{}
	for _, c := range d.Contacts {
		roles[c.RegionCode] = append(roles[c.RegionCode], c.Role)
		if c.Channel != "log" || c.Name == "" {
			t.Errorf("contact %+v", c)
		}
	}
	for _, c := range counties {
		if !slices.Equal(roles[c.code], []string{"county_officer", "county_head"}) {
			t.Errorf("%s: roles %v", c.code, roles[c.code])
		}
	}
	if !slices.Equal(roles[cityCode], []string{"city_coordinator"}) {
		t.Errorf("city: roles %v", roles[cityCode])
	}
}

// Every item has active objects in every county, and every such object
// can get its team there: the default set and the smallest one.
func TestGeneratedDataAreMatchable(t *testing.T) {
	for _, opt := range []Options{{}, {Objects: MinObjects, Inspectors: MinInspectors}, {Objects: 2000, Inspectors: 60}} {
		d := generate(t, opt)
		checkMatchable(t, fromData(d))
	}
}
