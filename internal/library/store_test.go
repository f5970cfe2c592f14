package library

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	seq = atomic.Int64{}
	rng = rand.New(rand.NewPCG(rand.Uint64(), 7))
)

// unique returns a key no other test of this run uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, rand.Int64N(1e9), seq.Add(1))
}

func newUSCC() string { return uscc.Generate(rng, "330402") }

var (
	ctx   = context.Background()
	alice = Actor{Name: "alice"}
)

func newStore(t *testing.T) *Store {
	t.Helper()
	return NewStore(testenv.DB(t))
}

// wantFault checks that err is a fault of kind naming every field given,
// and returns it.
func wantFault(t *testing.T, err error, kind fault.Kind, fields ...string) *fault.Error {
	t.Helper()
	e, ok := fault.As(err)
	if !ok {
		t.Fatalf("err = %v (%T), want a fault of kind %d", err, err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("kind = %d, want %d: %v", e.Kind, kind, err)
	}
	for _, f := range fields {
		if !slices.ContainsFunc(e.Problems, func(p fault.Problem) bool { return p.Field == f }) {
			t.Errorf("no problem names %q: %v", f, err)
		}
	}
	return e
}

func problemOf(e *fault.Error, field string) string {
	for _, p := range e.Problems {
		if p.Field == field {
			return p.Message
		}
	}
	return ""
}

func enterprise(key string, tags ...string) ObjectInput {
	return ObjectInput{Key: key, Kind: "enterprise", Name: "嘉兴某某建材有限公司", RegionCode: "330402", Tags: tags}
}

func TestCreateObjectReportsEveryProblem(t *testing.T) {
	s := newStore(t)
	bad := newUSCC()
	bad = bad[:17] + string("0123456789ABCDEFGHJKLMNPQRTUWXY"[(strings.IndexByte("0123456789ABCDEFGHJKLMNPQRTUWXY", bad[17])+1)%31])
	_, err := s.CreateObject(ctx, alice, ObjectInput{
		Key: bad, Kind: "enterprise", Name: " ", RegionCode: "火星", RiskLevel: "extreme",
		CreditClass: "E", LastInspectedAt: "2025-02-30", Tags: []string{"ok", "bad\ttag"},
		Attributes: json.RawMessage(`[1,2]`),
	})
	e := wantFault(t, err, fault.Invalid, "key", "name", "region_code", "risk_level", "credit_class",
		"last_inspected_at", "tags[1]", "attributes")
	if m := problemOf(e, "key"); !strings.Contains(m, "check character") || !strings.Contains(m, "unified social credit code") {
		t.Errorf("key problem %q does not come from uscc.Validate", m)
	}
	if m := problemOf(e, "risk_level"); !strings.Contains(m, `"extreme"`) || !strings.Contains(m, "low, normal, raised, high") {
		t.Errorf("risk problem %q", m)
	}
	if m := problemOf(e, "region_code"); !strings.Contains(m, "火星") {
		t.Errorf("region problem %q", m)
	}

	// Keys of other kinds: no TAB, CR, LF; at most 64 characters.
	for _, key := range []string{"P-1\tX", "P-1\nX", strings.Repeat("项", 65), ""} {
		_, err := s.CreateObject(ctx, alice, ObjectInput{Key: key, Kind: "project", Name: "项目", RegionCode: "330402"})
		wantFault(t, err, fault.Invalid, "key")
	}
	// NUL bytes in free attributes would make PostgreSQL fail: refused.
	_, err = s.CreateObject(ctx, alice, ObjectInput{Key: unique("P"), Kind: "project", Name: "项目", RegionCode: "330402",
		Attributes: json.RawMessage(`{"a":"x\u0000y"}`)})
	wantFault(t, err, fault.Invalid, "attributes")
}

func TestCreateObjectNormalisesAndDefaults(t *testing.T) {
	s := newStore(t)
	code := newUSCC()
	messy := strings.ToLower(code[:6]) + " " + code[6:] // pasted from a document
	o, err := s.CreateObject(ctx, alice, ObjectInput{Key: messy, Kind: "企业", Name: " 嘉兴某某有限公司 ",
		RegionCode: "南湖区", RiskLevel: "高", Tags: []string{"矿山", " 砂石 ", "矿山"}, LastInspectedAt: "2024-05-06"})
	if err != nil {
		t.Fatal(err)
	}
	want := Object{Key: code, Kind: "enterprise", Name: "嘉兴某某有限公司", RegionCode: "330402", RiskLevel: "high",
		CreditClass: "B", Status: "active", Tags: []string{"矿山", "砂石"}, RowVersion: 1}
	if o.Key != want.Key || o.Kind != want.Kind || o.Name != want.Name || o.RegionCode != want.RegionCode ||
		o.RiskLevel != want.RiskLevel || o.CreditClass != want.CreditClass || o.Status != want.Status ||
		!slices.Equal(o.Tags, want.Tags) || o.RowVersion != 1 || string(o.Attributes) != "{}" ||
		o.LastInspectedAt == nil || o.LastInspectedAt.String() != "2024-05-06" {
		t.Errorf("created %+v", o)
	}
	got, err := s.Object(ctx, code)
	if err != nil || got.Name != o.Name || !got.CreatedAt.Equal(o.CreatedAt) {
		t.Errorf("get = %+v, %v", got, err)
	}
	_, err = s.Object(ctx, "no-such-key")
	wantFault(t, err, fault.NotFound)
}

func TestDuplicateKeyIsAConflict(t *testing.T) {
	s := newStore(t)
	key := newUSCC()
	if _, err := s.CreateObject(ctx, alice, enterprise(key)); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateObject(ctx, alice, enterprise(key))
	e := wantFault(t, err, fault.Conflict)
	if e.Msg != "an object with key "+key+" already exists" {
		t.Errorf("message %q", e.Msg)
	}
	ik := unique("E")
	if _, err := s.CreateInspector(ctx, alice, InspectorInput{Key: ik, Name: "张三", RegionCode: "330402"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateInspector(ctx, alice, InspectorInput{Key: ik, Name: "李四", RegionCode: "330402"})
	if e := wantFault(t, err, fault.Conflict); !strings.Contains(e.Msg, "an inspector with key "+ik) {
		t.Errorf("message %q", e.Msg)
	}
}

func TestUpdateObjectOptimisticConcurrency(t *testing.T) {
	s := newStore(t)
	key := unique("XM")
	in := ObjectInput{Key: key, Kind: "project", Name: "某某地块出让项目", RegionCode: "330411",
		Attributes: json.RawMessage(`{"area_mu": 12.5}`)}
	o, err := s.CreateObject(ctx, alice, in)
	if err != nil {
		t.Fatal(err)
	}

	in.Name = "某某地块出让项目（二期）"
	in.Key = "" // the key comes from the URL
	o2, err := s.UpdateObject(ctx, Actor{Name: "bob"}, key, o.RowVersion, in)
	if err != nil {
		t.Fatal(err)
	}
	if o2.RowVersion != 2 || o2.Name != in.Name || o2.UpdatedAt.Before(o.UpdatedAt) {
		t.Errorf("updated %+v", o2)
	}

	// A second editor who read version 1 is refused, and nothing changes.
	in.Name = "覆盖"
	_, err = s.UpdateObject(ctx, Actor{Name: "carol"}, key, 1, in)
	if e := wantFault(t, err, fault.PreconditionFailed); !strings.Contains(e.Msg, "version 2") {
		t.Errorf("message %q", e.Msg)
	}
	if got, _ := s.Object(ctx, key); got.Name != o2.Name || got.RowVersion != 2 {
		t.Errorf("after stale update: %+v", got)
	}

	_, err = s.UpdateObject(ctx, alice, "no-such", 1, in)
	wantFault(t, err, fault.NotFound)
	in.Key = key + "-other"
	_, err = s.UpdateObject(ctx, alice, key, 2, in)
	wantFault(t, err, fault.Invalid, "key")

	// Bad input is reported with every field, whatever the version.
	_, err = s.UpdateObject(ctx, alice, key, 2, ObjectInput{Kind: "project", RegionCode: "nowhere"})
	wantFault(t, err, fault.Invalid, "name", "region_code")

	// An update that changes nothing is not a change: same version, no
	// history row. Attributes compare by value.
	same := ObjectInput{Kind: "项目", Name: o2.Name, RegionCode: "秀洲区", Attributes: json.RawMessage(`{ "area_mu":12.5 }`)}
	o3, err := s.UpdateObject(ctx, alice, key, 2, same)
	if err != nil || o3.RowVersion != 2 {
		t.Errorf("no-op update: %+v, %v", o3, err)
	}
	h, _, err := s.History(ctx, EntityObject, key, 0, 0)
	if err != nil || len(h) != 2 {
		t.Errorf("history after no-op: %d rows, %v", len(h), err)
	}
}

func TestHistoryKeepsActorSourceBeforeAndAfter(t *testing.T) {
	s := newStore(t)
	key := newUSCC()
	o, err := s.CreateObject(ctx, Actor{Name: "alice", Source: "api"}, enterprise(key))
	if err != nil {
		t.Fatal(err)
	}
	in := enterprise(key)
	in.CreditClass = "D"
	if _, err := s.UpdateObject(ctx, Actor{Name: "bob", Source: "import"}, key, o.RowVersion, in); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeactivateObject(ctx, Actor{Name: "carol"}, key, "注销", 0); err != nil {
		t.Fatal(err)
	}
	h, next, err := s.History(ctx, EntityObject, key, 0, 0)
	if err != nil || next != 0 || len(h) != 3 {
		t.Fatalf("history = %d rows, next %d, %v", len(h), next, err)
	}
	type row struct {
		CreditClass string `json:"credit_class"`
		Status      string `json:"status"`
		RowVersion  int    `json:"row_version"`
	}
	var before, after row
	if h[0].Action != "create" || h[0].Actor != "alice" || h[0].Source != "api" || h[0].Before != nil || h[0].After == nil {
		t.Errorf("create row %+v", h[0])
	}
	_ = json.Unmarshal(h[1].Before, &before)
	_ = json.Unmarshal(h[1].After, &after)
	if h[1].Action != "update" || h[1].Actor != "bob" || h[1].Source != "import" ||
		before.CreditClass != "B" || after.CreditClass != "D" || before.RowVersion != 1 || after.RowVersion != 2 {
		t.Errorf("update row %+v: %+v -> %+v", h[1], before, after)
	}
	_ = json.Unmarshal(h[2].After, &after)
	if h[2].Actor != "carol" || h[2].Source != "api" || after.Status != "cancelled" {
		t.Errorf("deactivate row %+v", h[2])
	}
	// Pages.
	p1, next, err := s.History(ctx, EntityObject, key, 0, 2)
	if err != nil || len(p1) != 2 || next != p1[1].ID {
		t.Fatalf("page 1: %d, %d, %v", len(p1), next, err)
	}
	p2, next, err := s.History(ctx, EntityObject, key, next, 2)
	if err != nil || len(p2) != 1 || next != 0 || p2[0].ID != h[2].ID {
		t.Errorf("page 2: %+v, %d, %v", p2, next, err)
	}
	_, _, err = s.History(ctx, EntityObject, "never-existed", 0, 0)
	wantFault(t, err, fault.NotFound)
}

func TestDeactivate(t *testing.T) {
	s := newStore(t)
	key := unique("CP")
	o, err := s.CreateObject(ctx, alice, ObjectInput{Key: key, Kind: "product", Name: "测绘仪器", RegionCode: "JXGQ"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.DeactivateObject(ctx, alice, key, "active", 0)
	wantFault(t, err, fault.Invalid, "status")
	_, err = s.DeactivateObject(ctx, alice, key, "", o.RowVersion+1)
	wantFault(t, err, fault.PreconditionFailed)
	d, err := s.DeactivateObject(ctx, alice, key, "", o.RowVersion)
	if err != nil || d.Status != "closed" || d.RowVersion != 2 {
		t.Fatalf("deactivate = %+v, %v", d, err)
	}
	_, err = s.DeactivateObject(ctx, alice, key, "", 0)
	wantFault(t, err, fault.Conflict)
	_, err = s.DeactivateObject(ctx, alice, "no-such", "", 0)
	wantFault(t, err, fault.NotFound)

	ik := unique("E")
	if _, err := s.CreateInspector(ctx, alice, InspectorInput{Key: ik, Name: "王五", RegionCode: "330421"}); err != nil {
		t.Fatal(err)
	}
	i, err := s.DeactivateInspector(ctx, alice, ik, "", 0)
	if err != nil || i.Status != "retired" {
		t.Fatalf("inspector deactivate = %+v, %v", i, err)
	}
	_, err = s.DeactivateInspector(ctx, alice, ik, "on_leave", 0)
	wantFault(t, err, fault.Conflict)
}

func TestInspectors(t *testing.T) {
	s := newStore(t)
	zero := 0
	_, err := s.CreateInspector(ctx, alice, InspectorInput{Key: "E\r1", RegionCode: "x", MaxLoad: &zero,
		Status: "fired", CertificateValidUntil: "2026/01/01"})
	wantFault(t, err, fault.Invalid, "key", "name", "region_code", "max_load", "status", "certificate_valid_until")

	key := unique("E")
	in := InspectorInput{Key: key, Name: "赵六", RegionCode: "海宁市", Unit: "长安所", CertificateNo: "ZJ330481001",
		CertificateValidUntil: "2027-12-31", Tags: []string{"土地", "组长"}}
	i, err := s.CreateInspector(ctx, alice, in)
	if err != nil {
		t.Fatal(err)
	}
	if i.RegionCode != "330481" || i.MaxLoad != 20 || i.Status != "active" || i.CertificateValidUntil.String() != "2027-12-31" {
		t.Errorf("created %+v", i)
	}
	in.Status = "休假"
	i2, err := s.UpdateInspector(ctx, alice, key, i.RowVersion, in)
	if err != nil || i2.Status != "on_leave" || i2.RowVersion != 2 {
		t.Fatalf("update = %+v, %v", i2, err)
	}
	_, err = s.UpdateInspector(ctx, alice, key, 1, in)
	wantFault(t, err, fault.PreconditionFailed)
	got, err := s.Inspector(ctx, key)
	if err != nil || got.Status != "on_leave" {
		t.Errorf("get = %+v, %v", got, err)
	}
}

func TestConflicts(t *testing.T) {
	s := newStore(t)
	ik := unique("E")
	if _, err := s.CreateInspector(ctx, alice, InspectorInput{Key: ik, Name: "钱七", RegionCode: "330402"}); err != nil {
		t.Fatal(err)
	}
	obj := newUSCC()
	other := unique("XM")
	// A conflict names an object of the directory.
	_, err := s.DeclareConflict(ctx, alice, ik, ConflictInput{ObjectKey: obj, Reason: "亲属"})
	wantFault(t, err, fault.Invalid, "object_key")
	for _, o := range []ObjectInput{{Key: obj, Kind: "enterprise", Name: "企业", RegionCode: "330402"}, {Key: other, Kind: "project", Name: "项目", RegionCode: "330402"}} {
		if _, err := s.CreateObject(ctx, alice, o); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.DeclareConflict(ctx, alice, ik, ConflictInput{ObjectKey: obj})
	wantFault(t, err, fault.Invalid, "reason")
	// A credit code is stored canonically, as the object's key is.
	c, err := s.DeclareConflict(ctx, Actor{Name: "钱七"}, ik, ConflictInput{ObjectKey: strings.ToLower(obj), Reason: "配偶任该企业法定代表人"})
	if err != nil || c.ObjectKey != obj || c.InspectorKey != ik {
		t.Fatalf("declare = %+v, %v", c, err)
	}
	_, err = s.DeclareConflict(ctx, alice, ik, ConflictInput{ObjectKey: obj, Reason: "again"})
	wantFault(t, err, fault.Conflict)
	_, err = s.DeclareConflict(ctx, alice, "no-such", ConflictInput{ObjectKey: obj, Reason: "x"})
	wantFault(t, err, fault.NotFound)

	if _, err := s.DeclareConflict(ctx, alice, ik, ConflictInput{ObjectKey: other, Reason: "曾参与该项目审批"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ConflictsOfInspector(ctx, ik)
	if err != nil || len(list) != 2 {
		t.Fatalf("conflicts of inspector = %+v, %v", list, err)
	}
	byObj, err := s.ConflictsOfObject(ctx, obj)
	if err != nil || len(byObj) != 1 || byObj[0].Reason != "配偶任该企业法定代表人" {
		t.Errorf("conflicts of object = %+v, %v", byObj, err)
	}
	if err := s.WithdrawConflict(ctx, alice, ik, other); err != nil {
		t.Fatal(err)
	}
	wantFault(t, s.WithdrawConflict(ctx, alice, ik, other), fault.NotFound)
	_, err = s.ConflictsOfInspector(ctx, "no-such")
	wantFault(t, err, fault.NotFound)

	// The inspector's history shows the declarations and the withdrawal.
	h, _, err := s.History(ctx, EntityInspector, ik, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, c := range h {
		actions = append(actions, c.Entity+":"+c.Action+":"+c.Actor)
	}
	want := []string{"inspectors:create:alice", "inspector_conflicts:create:钱七",
		"inspector_conflicts:create:alice", "inspector_conflicts:delete:alice"}
	if !slices.Equal(actions, want) {
		t.Errorf("history = %v, want %v", actions, want)
	}
}

func itemInput(code string) CheckItemInput {
	return CheckItemInput{Code: code, Name: "土地利用情况检查", ObjectKind: "enterprise", Methods: []string{"实地检查", "written"},
		Class: "一般", DefaultRatio: "0.05", LegalBasis: "《中华人民共和国土地管理法》\n第六十七条", EffectiveFrom: "2025-01-01"}
}

func TestCheckItemValidation(t *testing.T) {
	s := newStore(t)
	one, thirteen := 1, 13
	_, err := s.CreateCheckItem(ctx, alice, CheckItemInput{Code: "ZR 01", ObjectKind: "robot", Methods: []string{"guess"},
		Class: "minor", DefaultRatio: "1.5", InspectorsRequired: &one, FrequencyPerYear: &thirteen,
		DepartmentCode: "NOPE", JointDepartments: []string{"ALSO-NOPE"}, EffectiveFrom: "tomorrow"})
	e := wantFault(t, err, fault.Invalid, "code", "name", "object_kind", "methods[0]", "class", "default_ratio",
		"inspectors_required", "frequency_per_year", "department_code", "joint_departments[0]", "effective_from")
	if m := problemOf(e, "default_ratio"); !strings.Contains(m, "above 1") {
		t.Errorf("ratio problem %q (should be the draw's)", m)
	}
	_, err = s.CreateCheckItem(ctx, alice, CheckItemInput{Code: "X", Name: "x", ObjectKind: "project", Class: "key", DefaultRatio: "0.1"})
	wantFault(t, err, fault.Invalid, "methods")
}

func TestCheckItemVersionsNeverRewriteHistory(t *testing.T) {
	s := newStore(t)
	code := unique("ZR")
	dep := unique("D")
	if _, err := s.CreateDepartment(ctx, alice, DepartmentInput{Code: dep, Name: "执法监察处" + dep}); err != nil {
		t.Fatal(err)
	}
	in := itemInput(code)
	in.DepartmentCode = dep
	v1, err := s.CreateCheckItem(ctx, alice, in)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || v1.Published || v1.CreatedBy != "alice" || v1.InspectorsRequired != 2 ||
		!slices.Equal(v1.Methods, []string{"on_site", "written"}) || v1.Class != "general" || v1.DepartmentCode != dep {
		t.Errorf("v1 = %+v", v1)
	}
	_, err = s.CreateCheckItem(ctx, alice, in)
	wantFault(t, err, fault.Conflict)

	if _, err := s.PublishCheckItem(ctx, alice, code, 1); err != nil {
		t.Fatal(err)
	}
	_, err = s.PublishCheckItem(ctx, alice, code, 1)
	wantFault(t, err, fault.Conflict)

	// A new version may not take effect before the published one.
	in2 := in
	in2.Code = ""
	in2.Name = "土地利用情况检查（修订）"
	three := 3
	in2.InspectorsRequired = &three
	in2.EffectiveFrom = "2024-12-31"
	_, err = s.NewCheckItemVersion(ctx, Actor{Name: "bob"}, code, 1, in2)
	wantFault(t, err, fault.Invalid, "effective_from")
	in2.EffectiveFrom = "2026-03-01"
	v2, err := s.NewCheckItemVersion(ctx, Actor{Name: "bob"}, code, 1, in2)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.Published || v2.InspectorsRequired != 3 || v2.CreatedBy != "bob" {
		t.Errorf("v2 = %+v", v2)
	}
	// Stale: the editor saw version 1, the latest is 2.
	_, err = s.NewCheckItemVersion(ctx, alice, code, 1, in2)
	wantFault(t, err, fault.PreconditionFailed)
	_, err = s.NewCheckItemVersion(ctx, alice, "NO-SUCH-ITEM", 0, in2)
	wantFault(t, err, fault.NotFound)
	in3 := in2
	in3.Code = "OTHER"
	_, err = s.NewCheckItemVersion(ctx, alice, code, 0, in3)
	wantFault(t, err, fault.Invalid, "code")

	// Version 1 is unchanged.
	got1, err := s.CheckItemVersion(ctx, code, 1)
	if err != nil || got1.Name != v1.Name || got1.InspectorsRequired != 2 || !got1.Published || !got1.CreatedAt.Equal(v1.CreatedAt) {
		t.Errorf("v1 after v2 = %+v, %v", got1, err)
	}
	// The database itself refuses to rewrite a version.
	if _, err := s.db.ExecContext(ctx, `UPDATE check_items SET name = 'x' WHERE code = $1 AND version = 1`, code); err == nil {
		t.Error("a version could be rewritten in SQL")
	}

	latest, err := s.CheckItem(ctx, code)
	if err != nil || latest.Version != 2 {
		t.Errorf("latest = %d, %v", latest.Version, err)
	}
	// In force: v2 is not published yet, so v1 on every date from 2025-01-01.
	on := func(d string) int {
		t.Helper()
		date, _ := workday.ParseDate(d)
		c, err := s.CheckItemOn(ctx, code, date)
		if err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return 0
			}
			t.Fatal(err)
		}
		return c.Version
	}
	if on("2024-12-31") != 0 || on("2025-01-01") != 1 || on("2026-06-01") != 1 {
		t.Error("version in force before publishing v2 is wrong")
	}
	if _, err := s.PublishCheckItem(ctx, alice, code, 2); err != nil {
		t.Fatal(err)
	}
	if on("2026-02-28") != 1 || on("2026-03-01") != 2 || on("2030-01-01") != 2 {
		t.Error("version in force after publishing v2 is wrong")
	}
	if _, err := s.UnpublishCheckItem(ctx, alice, code, 2); err != nil {
		t.Fatal(err)
	}
	if on("2030-01-01") != 1 {
		t.Error("unpublished v2 still in force")
	}
	_, err = s.UnpublishCheckItem(ctx, alice, code, 2)
	wantFault(t, err, fault.Conflict)
	_, err = s.PublishCheckItem(ctx, alice, code, 9)
	wantFault(t, err, fault.NotFound)

	versions, next, err := s.CheckItemVersions(ctx, code, 0, 1)
	if err != nil || len(versions) != 1 || next != 1 {
		t.Fatalf("versions page 1 = %d, %d, %v", len(versions), next, err)
	}
	versions, next, err = s.CheckItemVersions(ctx, code, next, 1)
	if err != nil || len(versions) != 1 || versions[0].Version != 2 || next != 0 {
		t.Errorf("versions page 2 = %+v, %d, %v", versions, next, err)
	}

	// History: two creations, three publication changes; the rows of a
	// version are never edited but for published.
	h, _, err := s.History(ctx, EntityCheckItem, code, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range h {
		got = append(got, c.EntityKey+":"+c.Action+":"+c.Actor)
	}
	want := []string{code + "@1:create:alice", code + "@1:update:alice", code + "@2:create:bob",
		code + "@2:update:alice", code + "@2:update:alice"}
	if !slices.Equal(got, want) {
		t.Errorf("history = %v", got)
	}

	// Lists: latest versions, or those in force on a date.
	list, _, err := s.CheckItems(ctx, ItemFilter{Q: code})
	if err != nil || len(list) != 1 || list[0].Version != 2 {
		t.Errorf("list latest = %+v, %v", list, err)
	}
	d, _ := workday.ParseDate("2030-01-01")
	list, _, err = s.CheckItems(ctx, ItemFilter{Q: code, On: &d, Department: dep})
	if err != nil || len(list) != 1 || list[0].Version != 1 {
		t.Errorf("list in force = %+v, %v", list, err)
	}
	_, _, err = s.CheckItems(ctx, ItemFilter{Class: "minor"})
	wantFault(t, err, fault.Invalid, "class")
}

func TestApplicableItems(t *testing.T) {
	s := newStore(t)
	tag := unique("tag")
	key := newUSCC()
	if _, err := s.CreateObject(ctx, alice, enterprise(key, tag, "砂石")); err != nil {
		t.Fatal(err)
	}
	create := func(name, kind string, tags []string, from string, publish bool) string {
		t.Helper()
		in := itemInput(unique(name))
		in.ObjectKind, in.ObjectTags, in.EffectiveFrom = kind, tags, from
		c, err := s.CreateCheckItem(ctx, alice, in)
		if err != nil {
			t.Fatal(err)
		}
		if publish {
			if _, err := s.PublishCheckItem(ctx, alice, c.Code, 1); err != nil {
				t.Fatal(err)
			}
		}
		return c.Code
	}
	applies := create("A", "enterprise", []string{tag}, "2024-01-01", true)
	both := create("B", "enterprise", []string{tag, "砂石"}, "2024-01-01", true)
	create("C", "enterprise", []string{tag, "missing"}, "2024-01-01", true) // a tag the object lacks
	create("D", "project", []string{tag}, "2024-01-01", true)               // another kind
	create("E", "enterprise", []string{tag}, "2024-01-01", false)           // unpublished
	create("F", "enterprise", []string{tag}, "2099-01-01", true)            // not yet in force
	// G applied in version 1; its version 2 in force no longer does.
	g := create("G", "enterprise", []string{tag}, "2024-01-01", true)
	in := itemInput(g)
	in.ObjectTags, in.EffectiveFrom = []string{tag, "other"}, "2025-01-01"
	if _, err := s.NewCheckItemVersion(ctx, alice, g, 1, in); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishCheckItem(ctx, alice, g, 2); err != nil {
		t.Fatal(err)
	}

	items, err := s.ApplicableItems(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, c := range items {
		if slices.Contains(c.ObjectTags, tag) {
			codes = append(codes, c.Code)
		}
	}
	if want := []string{applies, both}; !slices.Equal(codes, want) {
		t.Errorf("applicable = %v, want %v", codes, want)
	}
	// On a date when G's version 1 was in force, it applies.
	d, _ := workday.ParseDate("2024-06-01")
	items, err = s.ApplicableItemsOn(ctx, key, d)
	if err != nil || !slices.ContainsFunc(items, func(c CheckItem) bool { return c.Code == g && c.Version == 1 }) {
		t.Errorf("applicable on 2024-06-01 = %v, %v", items, err)
	}
	_, err = s.ApplicableItems(ctx, "no-such")
	wantFault(t, err, fault.NotFound)
}

func TestListPagination(t *testing.T) {
	s := newStore(t)
	tag := unique("batch")
	regions := []string{"330402", "330411", "330421", "JXJK"}
	risks := []string{"low", "normal", "raised", "high"}
	var ins []ObjectInput
	for i := range 120 {
		in := enterprise(newUSCC(), tag)
		in.Name = fmt.Sprintf("企业%03d", i)
		in.RegionCode = regions[i%4]
		in.RiskLevel = risks[i/4%4]
		if i%10 == 0 {
			in.Tags = append(in.Tags, "矿山")
		}
		ins = append(ins, in)
	}
	created, err := s.CreateObjects(ctx, Actor{Name: "importer", Source: "import"}, ins)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 120 || created[7].Name != "企业007" || created[7].RowVersion != 1 {
		t.Fatalf("created %d, [7] = %+v", len(created), created[7])
	}

	// all pages through f, checking the order and that no key repeats.
	all := func(f Filter) []Object {
		t.Helper()
		var out []Object
		for page := 0; ; page++ {
			list, next, err := s.Objects(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if page > 200 {
				t.Fatal("pagination does not end")
			}
			out = append(out, list...)
			if next == "" {
				break
			}
			if len(list) != f.Limit {
				t.Fatalf("short page %d of %d before the end", len(list), f.Limit)
			}
			f.After = next
		}
		if !slices.IsSortedFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) }) {
			t.Error("pages are not in key order")
		}
		return out
	}
	count := func(pred func(ObjectInput) bool) int {
		n := 0
		for _, in := range ins {
			if pred(in) {
				n++
			}
		}
		return n
	}
	if got := all(Filter{Tags: []string{tag}, Limit: 7}); len(got) != 120 {
		t.Errorf("all: %d", len(got))
	}
	high := all(Filter{Tags: []string{tag}, Risk: "高", Limit: 7})
	if len(high) != count(func(in ObjectInput) bool { return in.RiskLevel == "high" }) {
		t.Errorf("high: %d", len(high))
	}
	for _, o := range high {
		if o.RiskLevel != "high" {
			t.Errorf("filter let through %+v", o)
		}
	}
	got := all(Filter{Tags: []string{tag, "矿山"}, Region: "南湖区", Limit: 5})
	if want := count(func(in ObjectInput) bool { return len(in.Tags) == 2 && in.RegionCode == "330402" }); len(got) != want {
		t.Errorf("tags+region: %d, want %d", len(got), want)
	}
	// The city includes its counties.
	if got := all(Filter{Tags: []string{tag}, Region: "330400", Limit: 50}); len(got) != 120 {
		t.Errorf("city: %d", len(got))
	}
	if got := all(Filter{Tags: []string{tag}, Q: "企业01", Limit: 3}); len(got) != 10 {
		t.Errorf("q: %d", len(got))
	}
	if got := all(Filter{Tags: []string{tag}, Q: created[42].Key[8:17], Limit: 3}); len(got) != 1 {
		t.Errorf("q on key: %d", len(got))
	}
	if got := all(Filter{Tags: []string{tag}, Q: "%", Limit: 3}); len(got) != 0 {
		t.Errorf("q %%: wildcard not escaped, %d", len(got))
	}
	if got := all(Filter{Tags: []string{tag}, Status: "closed", Credit: "B", Kind: "enterprise", Limit: 3}); len(got) != 0 {
		t.Errorf("closed: %d", len(got))
	}

	_, _, err = s.Objects(ctx, Filter{Risk: "extreme", Region: "nowhere", Kind: "robot"})
	wantFault(t, err, fault.Invalid, "risk", "region", "kind")
	_, _, err = s.Inspectors(ctx, Filter{Risk: "high", Status: "fired"})
	wantFault(t, err, fault.Invalid, "risk", "status")
}

func TestBatchIsAllOrNothing(t *testing.T) {
	s := newStore(t)
	tag := unique("batch")
	taken := newUSCC()
	if _, err := s.CreateObject(ctx, alice, enterprise(taken)); err != nil {
		t.Fatal(err)
	}
	var ins []ObjectInput
	for range 80 {
		ins = append(ins, enterprise(newUSCC(), tag))
	}
	ins[56].RegionCode = "火星"      // row 57
	ins[70].Key = ins[3].Key       // row 71 repeats row 4
	ins[79].Key = taken            // row 80 exists already
	ins[20].Key = ins[20].Key[:17] // row 21 is too short
	_, err := s.CreateObjects(ctx, alice, ins)
	e := wantFault(t, err, fault.Invalid)
	var rows []int
	for _, p := range e.Problems {
		rows = append(rows, p.Row)
	}
	if !slices.Equal(rows, []int{21, 57, 71, 80}) {
		t.Errorf("rows = %v: %v", rows, err)
	}
	if list, _, _ := s.Objects(ctx, Filter{Tags: []string{tag}}); len(list) != 0 {
		t.Errorf("%d objects written by a failed batch", len(list))
	}
	var changes int
	if err := s.db.GetContext(ctx, &changes, `SELECT count(*) FROM library_changes WHERE after->'tags' ? $1`, tag); err != nil || changes != 0 {
		t.Errorf("%d change rows of a failed batch, %v", changes, err)
	}

	// A failure inside the database (here: a constraint the validation does
	// not know of) also leaves nothing behind.
	ins = ins[:10]
	for i := range ins {
		ins[i].Key = newUSCC()
		ins[i].RegionCode = "330402"
	}
	ins[9].Name = "触发器拒绝"
	if _, err := s.db.ExecContext(ctx, `ALTER TABLE objects ADD CONSTRAINT test_refuse CHECK (name <> '触发器拒绝') NOT VALID`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = s.db.ExecContext(ctx, `ALTER TABLE objects DROP CONSTRAINT test_refuse`) })
	_, err = s.CreateObjects(ctx, alice, ins)
	wantFault(t, err, fault.Invalid)
	if list, _, _ := s.Objects(ctx, Filter{Tags: []string{tag}}); len(list) != 0 {
		t.Errorf("%d objects written by a batch that failed in the database", len(list))
	}

	// Inspectors likewise.
	_, err = s.CreateInspectors(ctx, alice, []InspectorInput{{Key: unique("E"), Name: "甲", RegionCode: "330402"}, {Key: "", Name: "乙", RegionCode: "330402"}})
	if e := wantFault(t, err, fault.Invalid, "key"); e.Problems[0].Row != 2 {
		t.Errorf("inspector batch problems %v", e.Problems)
	}
	list, err := s.CreateInspectors(ctx, alice, []InspectorInput{{Key: unique("E"), Name: "甲", RegionCode: "330402", Tags: []string{"土地"}}, {Key: unique("E"), Name: "乙", RegionCode: "平湖市"}})
	if err != nil || len(list) != 2 || list[1].RegionCode != "330482" || list[0].Tags[0] != "土地" {
		t.Errorf("inspector batch = %+v, %v", list, err)
	}
}

func TestRegionsAndDepartments(t *testing.T) {
	s := newStore(t)
	list, next, err := s.Regions(ctx, RegionFilter{Parent: "嘉兴市"})
	if err != nil || len(list) != 9 || next != "" {
		t.Fatalf("Jiaxing's counties: %d, %q, %v", len(list), next, err)
	}
	// Another city adopts spotcheck.
	city := fmt.Sprint(seq.Add(1))
	if _, err := s.CreateRegion(ctx, alice, RegionInput{Code: "H" + city, Name: "杭州市" + city}); err != nil {
		t.Fatal(err)
	}
	county, err := s.CreateRegion(ctx, alice, RegionInput{Code: "H" + city + "-1", Name: "上城区" + city, ParentCode: "杭州市" + city})
	if err != nil || county.ParentCode != "H"+city {
		t.Fatalf("county = %+v, %v", county, err)
	}
	_, err = s.CreateRegion(ctx, alice, RegionInput{Code: "H" + city, Name: "别名"})
	wantFault(t, err, fault.Conflict)
	_, err = s.CreateRegion(ctx, alice, RegionInput{Code: "Z" + city, Name: "嘉兴市"})
	wantFault(t, err, fault.Conflict)
	_, err = s.CreateRegion(ctx, alice, RegionInput{Code: "a b", Name: "", ParentCode: "nowhere"})
	wantFault(t, err, fault.Invalid, "code", "name", "parent_code")

	key := unique("XM")
	if _, err := s.CreateObject(ctx, alice, ObjectInput{Key: key, Kind: "project", Name: "某项目", RegionCode: "上城区" + city}); err != nil {
		t.Fatal(err)
	}
	objs, _, err := s.Objects(ctx, Filter{Region: "H" + city})
	if err != nil || len(objs) != 1 || objs[0].Key != key {
		t.Errorf("objects of the new city: %+v, %v", objs, err)
	}

	dep := unique("D")
	if _, err := s.CreateDepartment(ctx, alice, DepartmentInput{Code: dep, Name: "耕地保护处" + dep}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateDepartment(ctx, alice, DepartmentInput{Code: dep, Name: "另一个"})
	wantFault(t, err, fault.Conflict)
	_, err = s.CreateDepartment(ctx, alice, DepartmentInput{Code: "!", Name: "x"})
	wantFault(t, err, fault.Invalid, "code")
	deps, _, err := s.Departments(ctx, "", 1000)
	if err != nil || !slices.ContainsFunc(deps, func(d Department) bool { return d.Code == dep }) {
		t.Errorf("departments = %v, %v", deps, err)
	}
}
