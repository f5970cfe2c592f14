package demo

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// seed fixes the data set: every machine generates the same one. Any
// value would do; this one spells JX 2020 27.
const seed = 0x4a58_2020_0027

// Streams of the generator: each record draws from its own PCG stream
// (seed, stream<<32 | index), so record i is the same whatever the size
// asked for and the sets of different sizes are prefixes of each other.
const (
	streamObjects = iota + 1
	streamInspectors
	streamConflicts
	streamContacts
)

func rng(stream, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(stream)<<32|uint64(i)))
}

// Dates the generated data are relative to, fixed so that the data do not
// depend on the day they are generated.
var (
	// inspectedFrom and inspectedTo bound last_inspected_at: two years
	// up to the end of October 2026.
	inspectedFrom = workday.Date{Year: 2024, Month: 11, Day: 1}
	inspectedTo   = workday.Date{Year: 2026, Month: 10, Day: 31}
	// ExpiringBefore: about one inspector in ten holds a certificate that
	// ends before this day; a few of those have already ended by
	// expiredBy.
	ExpiringBefore = workday.Date{Year: 2026, Month: 12, Day: 31}
	expiredBy      = workday.Date{Year: 2026, Month: 11, Day: 20}
)

// Conflict is a declared conflict of interest of an inspector.
type Conflict struct {
	InspectorKey string
	library.ConflictInput
}

// Data is the demo data set, as the inputs the stores take.
type Data struct {
	Departments []library.DepartmentInput
	CheckItems  []library.CheckItemInput
	Objects     []library.ObjectInput
	Inspectors  []library.InspectorInput
	Conflicts   []Conflict
	Contacts    []notify.NewContact
	// DepartmentStaff are inspectors who belong to a department.
	DepartmentStaff []Staff
}

// Staff makes an inspector one of a department's own.
type Staff struct{ InspectorKey, Department string }

// departmentStaff gives each department of the joint item ZR-14 its own
// inspectors in jointCounty: that county's surveyors, half each, at most
// three each (the rest of the county's pool belongs to no department).
func departmentStaff(list []library.InspectorInput) []Staff {
	var joint library.CheckItemInput
	for _, it := range items {
		if len(it.JointDepartments) > 0 {
			joint = it
		}
	}
	depts := append([]string{joint.DepartmentCode}, joint.JointDepartments...)
	var surveyors []string
	for _, in := range list {
		if in.RegionCode == jointCounty && slices.Contains(in.Tags, tagSurvey) && in.CertificateValidUntil >= "2027" {
			surveyors = append(surveyors, in.Key)
		}
	}
	per := min(3, len(surveyors)/len(depts))
	var out []Staff
	for i, d := range depts {
		for _, k := range surveyors[i*per : (i+1)*per] {
			out = append(out, Staff{InspectorKey: k, Department: d})
		}
	}
	return out
}

// place is where an object is.
type place struct {
	county  county
	town    string
	village string
}

func (p place) short() string { return p.county.short }

// kind is a kind of object in the directory: which check items it falls
// under (by its tags), how it is named and keyed, and how common it is.
type kind struct {
	objectKind string
	code       string // project and product codes: JX-<code>-<year>-<serial>
	tags       []string
	// extra are tags some objects of the kind also carry, each with the
	// probability in percent.
	extra  map[string]int
	weight int // per 20,000 objects
	name   func(r *rand.Rand, at place) string
	attrs  func(r *rand.Rand) map[string]any
}

var kinds = []kind{
	{objectKind: "enterprise", tags: []string{"surveying"}, weight: 2000,
		name: enterpriseName("测绘有限公司", "测绘工程有限公司", "地理信息科技有限公司", "空间信息技术有限公司", "勘测规划设计有限公司"),
		attrs: func(r *rand.Rand) map[string]any {
			return map[string]any{"qualification": pick(r, "甲级测绘资质", "乙级测绘资质", "乙级测绘资质", "乙级测绘资质")}
		}},
	{objectKind: "enterprise", tags: []string{"geological_survey"}, extra: map[string]int{"geohazard": 25}, weight: 1500,
		name: enterpriseName("地质勘查有限公司", "岩土工程勘察有限公司", "地质工程勘察院有限公司", "勘察设计研究院有限公司")},
	{objectKind: "enterprise", tags: []string{"geohazard"}, extra: map[string]int{"geological_survey": 50}, weight: 800,
		name: enterpriseName("地质灾害防治工程有限公司", "地质环境工程有限公司", "岩土工程有限公司"),
		attrs: func(r *rand.Rand) map[string]any {
			return map[string]any{"qualification": pick(r, "甲级", "乙级", "乙级", "丙级", "丙级") + "地质灾害防治单位资质"}
		}},
	{objectKind: "enterprise", tags: []string{"exploration_right"}, weight: 500,
		name: enterpriseName("矿产资源勘查有限公司", "地矿勘查有限公司", "资源勘探有限公司")},
	{objectKind: "enterprise", tags: []string{"mining_right"}, extra: map[string]int{"exploration_right": 20}, weight: 500,
		name: enterpriseName("建材有限公司", "石料有限公司", "矿业有限公司")},
	{objectKind: "project", code: "TDFK", tags: []string{"land_reclamation"}, weight: 3400,
		name: func(r *rand.Rand, at place) string {
			return at.short() + at.town + at.village + pick(r, "土地复垦项目", "建设用地复垦项目", "农村建设用地复垦项目", "工矿废弃地复垦项目")
		}, attrs: area(1, 30)},
	{objectKind: "project", code: "KSZL", tags: []string{"mining"}, extra: map[string]int{"land_reclamation": 30}, weight: 800,
		name: func(r *rand.Rand, at place) string {
			return at.short() + at.town + at.village + pick(r, "废弃矿山地质环境治理项目", "矿山生态修复工程", "宕口治理工程")
		}, attrs: area(2, 60)},
	{objectKind: "project", code: "GDXY", tags: []string{"land_supply"}, weight: 3500,
		name: func(r *rand.Rand, at place) string {
			return at.short() + at.town + pick(r, roads...) + "以" + pick(r, directions...) + "地块国有建设用地使用权出让项目"
		}, attrs: area(1, 20)},
	{objectKind: "project", code: "GHXK", tags: []string{"planning_permit"}, weight: 4500,
		name: func(r *rand.Rand, at place) string {
			return at.short() + at.town + pick(r, at.village, word(r)+"科技", word(r)+"实业") + pick(r, facilities...) + "建设工程"
		}},
	{objectKind: "project", code: "BCGD", tags: []string{"farmland_supplement"}, weight: 800,
		name: func(r *rand.Rand, at place) string {
			return at.short() + at.town + at.village + pick(r, "补充耕地项目", "垦造水田项目", "旱地改水田项目")
		}, attrs: area(3, 80)},
	{objectKind: "project", code: "LSYD", tags: []string{"temporary_land"}, extra: map[string]int{"land_reclamation": 50}, weight: 1000,
		name: func(r *rand.Rand, at place) string {
			if r.IntN(2) == 0 {
				return pick(r, bigWorks...) + at.town + "施工临时用地"
			}
			return at.short() + at.town + at.village + pick(r, "施工便道临时用地", "取土场临时用地", "项目部临时用地")
		}, attrs: area(1, 10)},
	{objectKind: "product", code: "DT", tags: []string{"map"}, weight: 700,
		name: func(r *rand.Rand, at place) string {
			return at.short() + pick(r, mapKinds...) + fmt.Sprintf("（%d版）", 2021+r.IntN(5))
		}},
}

// Options sizes the data set. Zero values take the defaults: 20,000
// objects, 150 inspectors, 20 declared conflicts.
type Options struct {
	Objects    int
	Inspectors int
	Conflicts  int
	// IfEmpty makes Seed do nothing when the object directory holds any
	// object, so that a database someone works with is never mixed with
	// demo data.
	IfEmpty bool
}

// Defaults of Options.
const (
	DefaultObjects    = 20000
	DefaultInspectors = 150
	DefaultConflicts  = 20
)

// MinObjects is the smallest directory with objects of every kind in every
// county: the first objects go round the kinds and counties.
var MinObjects = len(kinds) * len(counties)

// coreStaff is how many inspectors every county has at least: enough,
// with their tags, for every item's team (up to three, cross-station)
// however the rest are drawn.
const coreStaff = 6

// MinInspectors is the smallest inspector directory Generate accepts.
var MinInspectors = coreStaff * len(counties)

// Validate reports why Generate and Seed would refuse o, if they would.
func (o Options) Validate() error {
	_, err := o.withDefaults()
	return err
}

func (o Options) withDefaults() (Options, error) {
	if o.Objects == 0 {
		o.Objects = DefaultObjects
	}
	if o.Inspectors == 0 {
		o.Inspectors = DefaultInspectors
	}
	if o.Conflicts == 0 {
		o.Conflicts = DefaultConflicts
	}
	switch {
	case o.Objects < MinObjects:
		return o, fmt.Errorf("demo: %d objects are too few: at least %d give every county objects of every kind", o.Objects, MinObjects)
	case o.Objects > 1_000_000:
		return o, fmt.Errorf("demo: %d objects are too many: at most 1,000,000", o.Objects)
	case o.Inspectors < MinInspectors:
		return o, fmt.Errorf("demo: %d inspectors are too few: at least %d give every county teams of three for every item", o.Inspectors, MinInspectors)
	case o.Inspectors > 9999*len(counties):
		return o, fmt.Errorf("demo: %d inspectors are too many", o.Inspectors)
	case o.Conflicts < 0 || o.Conflicts > o.Inspectors:
		return o, fmt.Errorf("demo: %d conflicts: between 0 and the number of inspectors (%d)", o.Conflicts, o.Inspectors)
	}
	return o, nil
}

// Generate builds the data set of opt, the same on every machine. The
// objects and inspectors of a smaller set are the first ones of a larger.
func Generate(opt Options) (Data, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return Data{}, err
	}
	d := Data{
		Departments: append([]library.DepartmentInput(nil), departments...),
		CheckItems:  cloneItems(),
	}
	d.Objects = objects(opt.Objects)
	d.Inspectors = inspectors(opt.Inspectors)
	d.Conflicts = conflicts(opt.Conflicts, d.Objects, d.Inspectors)
	d.Contacts = contacts()
	d.DepartmentStaff = departmentStaff(d.Inspectors)
	return d, nil
}

func cloneItems() []library.CheckItemInput {
	out := make([]library.CheckItemInput, len(items))
	for i, it := range items {
		it.ObjectTags = append([]string(nil), it.ObjectTags...)
		it.Methods = append([]string(nil), it.Methods...)
		it.RequiredTags = append([]string(nil), it.RequiredTags...)
		it.JointDepartments = append([]string(nil), it.JointDepartments...)
		out[i] = it
	}
	return out
}

// objects generates n objects. The first MinObjects go round every kind in
// every county; the rest follow the kinds' and counties' weights.
func objects(n int) []library.ObjectInput {
	out := make([]library.ObjectInput, 0, n)
	keys := make(map[string]bool, n)
	names := make(map[string]bool, n)
	for i := range n {
		r := rng(streamObjects, i)
		var k kind
		var c county
		if i < MinObjects {
			k, c = kinds[i%len(kinds)], counties[i/len(kinds)]
		} else {
			k, c = weighted(r, kinds, func(k kind) int { return k.weight }), weighted(r, counties, func(c county) int { return c.weight })
		}
		at := place{county: c, town: pick(r, c.towns...), village: village(r)}
		o := library.ObjectInput{
			Kind:        k.objectKind,
			RegionCode:  c.code,
			Station:     station(at.town),
			Tags:        append([]string(nil), k.tags...),
			RiskLevel:   share(r, []string{"low", "normal", "raised", "high"}, 40, 40, 15, 5),
			CreditClass: share(r, []string{"A", "B", "C", "D"}, 30, 50, 15, 5),
			Status:      "active",
		}
		// Sorted: map order is random, the data set must not be.
		for _, t := range slices.Sorted(maps.Keys(k.extra)) {
			if r.IntN(100) < k.extra[t] {
				o.Tags = append(o.Tags, t)
			}
		}
		o.Name = unique(names, r, func() string { return k.name(r, at) })
		if k.objectKind == "enterprise" {
			o.Key = unique(keys, r, func() string { return uscc.Generate(r, c.division) })
			o.Address = at.address(r)
			// A few have closed or left since they were listed; the
			// draw leaves them out.
			if i >= MinObjects {
				o.Status = share(r, []string{"active", "closed", "cancelled", "revoked", "moved_out"}, 960, 20, 10, 5, 5)
			}
		} else {
			// The serial is the object's index: unique, and the same in
			// every set that has the object.
			o.Key = fmt.Sprintf("JX-%s-%d-%05d", k.code, 2019+r.IntN(7), i+1)
			keys[o.Key] = true
			if k.objectKind == "project" {
				o.Address = at.address(nil)
			}
		}
		// A quarter were inspected in the last two years.
		if r.IntN(4) == 0 {
			span := inspectedTo.Start().Sub(inspectedFrom.Start()).Hours() / 24
			o.LastInspectedAt = inspectedFrom.AddDays(r.IntN(int(span) + 1)).String()
		}
		attrs := map[string]any{}
		if k.attrs != nil {
			attrs = k.attrs(r)
		}
		if k.objectKind == "enterprise" {
			attrs["legal_representative"] = personName(r)
		}
		if len(attrs) > 0 {
			o.Attributes, _ = json.Marshal(attrs) // maps of strings and numbers always marshal
		}
		out = append(out, o)
	}
	return out
}

// inspectors generates n inspectors. The first coreStaff of every county
// are active, certified well beyond the plan year, belong to the county's
// enforcement team (no station, so the cross-station rule never recuses
// them) and hold each required tag four times over: every item's team of
// up to three can be formed in every county even with one of them
// recused. The rest follow the counties' staff weights, and some of them
// are on leave, retired or hold a certificate that ends soon.
func inspectors(n int) []library.InspectorInput {
	core := [coreStaff][]string{
		{tagLand, tagMining, tagLeader},
		{tagLand, tagSurvey, tagGeology},
		{tagMining, tagSurvey, tagGeology},
		{tagLand, tagSurvey, tagGeology, tagLeader},
		{tagMining, tagGeology, tagLeader},
		{tagLand, tagSurvey, tagMining},
	}
	serial := make([]int, len(counties))
	// Smooth weighted round robin: every hundred inspectors beyond the
	// core split exactly as the staff weights say, so that no county is
	// short by chance.
	credit, total := make([]int, len(counties)), 0
	for _, c := range counties {
		total += c.staff
	}
	out := make([]library.InspectorInput, 0, n)
	for i := range n {
		r := rng(streamInspectors, i)
		ci := i % len(counties)
		if i >= MinInspectors {
			ci = 0
			for k, c := range counties {
				credit[k] += c.staff
				if credit[k] > credit[ci] {
					ci = k
				}
			}
			credit[ci] -= total
		}
		c := counties[ci]
		serial[ci]++
		j := serial[ci] - 1 // index within the county
		in := library.InspectorInput{
			Key:           inspectorKey(c, serial[ci]),
			Name:          personName(r),
			RegionCode:    c.code,
			CertificateNo: fmt.Sprintf("浙%s%02d%04d", c.division, ci+1, serial[ci]),
			Status:        "active",
			MaxLoad:       intp(20 + r.IntN(21)),
		}
		if j < coreStaff {
			in.MaxLoad = intp(30 + r.IntN(11)) // the team's regulars take more
			in.Tags = append([]string(nil), core[j]...)
			in.Unit = c.team
			in.CertificateValidUntil = dateIn(r, workday.Date{Year: 2027, Month: 6, Day: 30}, workday.Date{Year: 2030, Month: 12, Day: 31})
		} else {
			in.Tags = otherTags(r)
			in.Unit = c.team
			if r.IntN(10) < 6 {
				in.Unit = station(pick(r, c.towns...))
			}
			// One in six of them, one in ten of all, holds a certificate
			// that ends before the plan year does; a quarter of those
			// have ended already. The match leaves them out.
			switch x := r.IntN(100); {
			case x < 4:
				in.CertificateValidUntil = dateIn(r, workday.Date{Year: 2026, Month: 3, Day: 1}, expiredBy)
			case x < 16:
				in.CertificateValidUntil = dateIn(r, expiredBy.AddDays(1), ExpiringBefore.AddDays(-1))
			default:
				in.CertificateValidUntil = dateIn(r, workday.Date{Year: 2027, Month: 1, Day: 1}, workday.Date{Year: 2030, Month: 12, Day: 31})
			}
			in.Status = share(r, []string{"active", "on_leave", "retired"}, 93, 4, 3)
		}
		out = append(out, in)
	}
	return out
}

func inspectorKey(c county, serial int) string {
	if c.code[0] >= '0' && c.code[0] <= '9' {
		return fmt.Sprintf("JX%s-%04d", c.code, serial)
	}
	return fmt.Sprintf("%s-%04d", c.code, serial)
}

// otherTags gives an inspector beyond the core one to three of the
// qualifications, and sometimes leader.
func otherTags(r *rand.Rand) []string {
	var tags []string
	for _, t := range []string{tagLand, tagMining, tagSurvey, tagGeology} {
		if r.IntN(100) < 55 {
			tags = append(tags, t)
		}
	}
	if len(tags) == 0 {
		tags = append(tags, pick(r, tagLand, tagMining, tagSurvey, tagGeology))
	}
	if r.IntN(5) == 0 {
		tags = append(tags, tagLeader)
	}
	return tags
}

// conflicts declares n conflicts of interest, each between an inspector
// and an object of the same county, at most one per object. They are
// chosen among the first MinInspectors inspectors and MinObjects*10
// objects, so a larger set has the same ones.
func conflicts(n int, objs []library.ObjectInput, insps []library.InspectorInput) []Conflict {
	pool := objs[:min(len(objs), MinObjects*10)]
	byRegion := map[string][]library.ObjectInput{}
	for _, o := range pool {
		if o.Kind != "product" { // nobody is related to a map
			byRegion[o.RegionCode] = append(byRegion[o.RegionCode], o)
		}
	}
	taken := map[string]bool{}
	var out []Conflict
	for i := 0; len(out) < n && i < 100*n; i++ {
		r := rng(streamConflicts, i)
		in := insps[r.IntN(MinInspectors)]
		keys := byRegion[in.RegionCode]
		if len(keys) == 0 {
			continue
		}
		obj := keys[r.IntN(len(keys))]
		if taken[obj.Key] {
			continue
		}
		taken[obj.Key] = true
		out = append(out, Conflict{InspectorKey: in.Key, ConflictInput: library.ConflictInput{ObjectKey: obj.Key, Reason: pick(r, conflictCauses[obj.Kind]...)}})
	}
	return out
}

// contacts gives each county an officer and a head, and the city a
// coordinator, all on the log channel, so that reminders and escalations
// of a demo have someone to go to.
func contacts() []notify.NewContact {
	r := rng(streamContacts, 0)
	var out []notify.NewContact
	for _, c := range counties {
		label := strings.TrimPrefix(c.short, "嘉兴市")
		out = append(out,
			notify.NewContact{RegionCode: c.code, Role: notify.RoleCountyOfficer, Channel: notify.ChannelLog,
				Name: personName(r) + "（" + label + "经办人）", Address: "演示：" + c.code + " 经办人"},
			notify.NewContact{RegionCode: c.code, Role: notify.RoleCountyHead, Channel: notify.ChannelLog,
				Name: personName(r) + "（" + label + "分管领导）", Address: "演示：" + c.code + " 分管领导"})
	}
	out = append(out, notify.NewContact{RegionCode: cityCode, Role: notify.RoleCityCoordinator, Channel: notify.ChannelLog,
		Name: personName(r) + "（市局执法局统筹）", Address: "演示：" + cityCode + " 统筹"})
	return out
}

// Helpers of the generator.

func pick[T any](r *rand.Rand, list ...T) T { return list[r.IntN(len(list))] }

// share picks values[i] with probability weights[i]/sum(weights).
func share(r *rand.Rand, values []string, weights ...int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := r.IntN(total)
	for i, w := range weights {
		if x < w {
			return values[i]
		}
		x -= w
	}
	return values[len(values)-1]
}

func weightedIndex[T any](r *rand.Rand, list []T, weight func(T) int) int {
	total := 0
	for _, e := range list {
		total += weight(e)
	}
	x := r.IntN(total)
	for i, e := range list {
		if x < weight(e) {
			return i
		}
		x -= weight(e)
	}
	return len(list) - 1
}

func weighted[T any](r *rand.Rand, list []T, weight func(T) int) T {
	return list[weightedIndex(r, list, weight)]
}

// unique calls gen until it returns a value not in seen (registries do not
// give two enterprises one name), then records it. After many tries it
// numbers the phase of the last value, as projects are.
func unique(seen map[string]bool, r *rand.Rand, gen func() string) string {
	var s string
	for range 20 {
		if s = gen(); !seen[s] {
			seen[s] = true
			return s
		}
	}
	for n := 2; ; n++ {
		if t := fmt.Sprintf("%s（%d期）", s, n); !seen[t] {
			seen[t] = true
			return t
		}
	}
}

func word(r *rand.Rand) string {
	return string([]rune{words[r.IntN(len(words))], words[r.IntN(len(words))]})
}

func village(r *rand.Rand) string {
	return string([]rune{villageChars[r.IntN(len(villageChars))], villageChars[r.IntN(len(villageChars))]}) + "村"
}

// personName is a surname (the first ten, Jiaxing's commonest, twice as
// often) and one or two given characters.
func personName(r *rand.Rand) string {
	var s rune
	if r.IntN(2) == 0 {
		s = surnames[r.IntN(10)]
	} else {
		s = surnames[r.IntN(len(surnames))]
	}
	name := []rune{s, givenNames[r.IntN(len(givenNames))]}
	if r.IntN(3) > 0 {
		name = append(name, givenNames[r.IntN(len(givenNames))])
	}
	return string(name)
}

func enterpriseName(suffixes ...string) func(r *rand.Rand, at place) string {
	return func(r *rand.Rand, at place) string {
		prefix := pick(r, at.county.prefixes...)
		if r.IntN(10) == 0 {
			prefix = "浙江"
		}
		return prefix + word(r) + pick(r, suffixes...)
	}
}

// address is the full postal address of a place: an enterprise's street
// address, a project's village.
func (p place) address(r *rand.Rand) string {
	a := "浙江省"
	if !strings.HasPrefix(p.short(), "嘉兴") {
		a += "嘉兴市"
	}
	a += p.short() + p.town
	if r == nil {
		return a + p.village
	}
	return fmt.Sprintf("%s%s%d号", a, pick(r, roads...), 1+r.IntN(999))
}

func area(lo, hi int) func(r *rand.Rand) map[string]any {
	return func(r *rand.Rand) map[string]any {
		hundredths := lo*100 + r.IntN((hi-lo)*100)
		return map[string]any{"area_hectares": json.Number(fmt.Sprintf("%d.%02d", hundredths/100, hundredths%100))}
	}
}

// dateIn returns a date from lo to hi inclusive.
func dateIn(r *rand.Rand, lo, hi workday.Date) string {
	days := int(hi.Start().Sub(lo.Start()).Hours() / 24)
	return lo.AddDays(r.IntN(days + 1)).String()
}
