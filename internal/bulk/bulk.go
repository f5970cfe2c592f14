// Package bulk imports the two libraries (the object directory and the
// inspector directory) from CSV and XLSX files, and exports them in the same
// format, so that an export imported again changes nothing.
//
// An import streams: rows are read, validated and copied into a temporary
// table one at a time, never held in memory, and then upserted by key in one
// statement that touches only the rows that differ. Every problem is reported
// with the spreadsheet's row number (header = row 1) and column; by default a
// file with any problem writes nothing.
package bulk

import (
	"fmt"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

// A Library is one of the two libraries as files see it: its table and the
// columns a file may have.
type Library struct {
	// Name is the table and the API path segment: "objects" or "inspectors".
	Name string
	// Title names the library for people, in Chinese (sheet names, files).
	Title   string
	columns []*column
	// check applies rules that span cells of one row; it may change values.
	check func(r *rowValues) []cellProblem
}

// Columns lists the column names (the English headers) in file order.
func (l *Library) Columns() []string {
	names := make([]string, len(l.columns))
	for i, c := range l.columns {
		names[i] = c.name
	}
	return names
}

func (l *Library) column(name string) (int, *column) {
	for i, c := range l.columns {
		if c.name == name {
			return i, c
		}
	}
	panic("bulk: no column " + name) // programming error
}

// Libraries lists the libraries by name, for command lines and routes.
var Libraries = map[string]*Library{}

// LibraryNamed returns the library called name, or an error listing the
// names that exist.
func LibraryNamed(name string) (*Library, error) {
	if l, ok := Libraries[name]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("unknown library %q: want objects or inspectors", name)
}

// cellType says how a cell is read, stored and written.
type cellType int

const (
	typeText   cellType = iota // trimmed text; "" when empty
	typeKey                    // the library key (public_key)
	typeVocab                  // a code of a vocabulary, Chinese terms accepted
	typeRegion                 // a region code or name
	typeTags                   // a list of tags, stored as text[]
	typeDate                   // a date, stored as date; empty is NULL
	typeInt                    // a whole number
)

// A column of a library file.
type column struct {
	name     string   // database column; the English header
	header   string   // Chinese header of exports and the template
	aliases  []string // other accepted headers
	typ      cellType
	required bool   // the header must be present and the cell filled
	def      string // value when the cell is empty (typeVocab, typeInt); "" = required
	vocab    *library.Vocabulary
	min      int    // typeInt: smallest allowed value
	example  string // the template's example cell
	hint     string // the template's explanation, Chinese
	sqlType  string // type in the staging table
	dbColumn string // column of the library table; name unless different
	width    float64
}

func (c *column) db() string {
	if c.dbColumn != "" {
		return c.dbColumn
	}
	return c.name
}

// label names a column in messages: its Chinese header and English name.
func (c *column) label() string { return c.header + " (" + c.name + ")" }

// Objects is the object directory (检查对象名录库).
var Objects = &Library{
	Name:  "objects",
	Title: "检查对象",
	columns: []*column{
		{name: "key", header: "统一社会信用代码/对象编码", aliases: []string{"统一社会信用代码", "对象编码", "信用代码", "社会信用代码", "编码"},
			typ: typeKey, required: true, sqlType: "text", example: "", width: 24,
			hint: "企业填写18位统一社会信用代码；项目、产品、行为等填写对象编码（不超过64个字符，不含制表符和换行）。同一文件内不得重复；已存在的编码将更新该对象。"},
		{name: "name", header: "名称", aliases: []string{"对象名称", "企业名称", "单位名称"},
			typ: typeText, required: true, sqlType: "text", example: "嘉兴市示例矿业有限公司", width: 30,
			hint: "必填。"},
		{name: "kind", header: "对象类型", aliases: []string{"类型", "检查对象类型"},
			typ: typeVocab, vocab: library.ObjectKinds, def: "enterprise", sqlType: "text", example: "企业", width: 10,
			hint: "企业、项目、产品、行为、其他（或 enterprise、project、product、behaviour、other）。留空为企业；文件无此列时全部视为企业。"},
		{name: "region", header: "所属区域", aliases: []string{"区域", "所属辖区", "辖区", "行政区划", "region_code"},
			typ: typeRegion, required: true, sqlType: "text", dbColumn: "region_code", example: "南湖区", width: 16,
			hint: "必填。区域名称或代码，如 南湖区 或 330402。"},
		{name: "station", header: "所属站所", aliases: []string{"站所", "所属所站", "所站"},
			typ: typeText, sqlType: "text", example: "城南所", width: 12,
			hint: "所属自然资源所（站），用于跨所回避。"},
		{name: "address", header: "地址", aliases: []string{"住所", "经营场所", "详细地址"},
			typ: typeText, sqlType: "text", example: "嘉兴市南湖区示例路1号", width: 30},
		{name: "tags", header: "标签", aliases: []string{"分类标签", "标注"},
			typ: typeTags, sqlType: "text[]", example: "矿山;土地", width: 16,
			hint: "多个标签用分号、逗号或竖线分隔（; ； , ， |）。"},
		{name: "risk_level", header: "风险等级", aliases: []string{"风险"},
			typ: typeVocab, vocab: library.RiskLevels, def: "normal", sqlType: "text", example: "一般", width: 10,
			hint: "低、一般、较高、高（或 low、normal、raised、high）。留空为一般。"},
		{name: "credit_class", header: "信用等级", aliases: []string{"信用", "信用类别", "信用分类"},
			typ: typeVocab, vocab: library.CreditClasses, def: "B", sqlType: "text", example: "B", width: 10,
			hint: "A、B、C、D。留空为 B。"},
		{name: "status", header: "状态", aliases: []string{"经营状态", "登记状态"},
			typ: typeVocab, vocab: library.ObjectStatuses, def: "active", sqlType: "text", example: "正常", width: 10,
			hint: "正常、停业、注销、吊销、迁出（或 active、closed、cancelled、revoked、moved_out）。留空为正常。"},
		{name: "last_inspected_at", header: "最近检查日期", aliases: []string{"上次检查日期", "最近一次检查日期"},
			typ: typeDate, sqlType: "date", example: "2024-06-30", width: 14,
			hint: "格式 2024-06-30；可留空。"},
	},
}

// Inspectors is the inspector directory (执法检查人员名录库). Conflicts of
// interest (inspector_conflicts) are not part of these files.
var Inspectors = &Library{
	Name:  "inspectors",
	Title: "执法检查人员",
	columns: []*column{
		{name: "key", header: "工号", aliases: []string{"人员编号", "执法人员编号", "员工编号"},
			typ: typeKey, required: true, sqlType: "text", example: "JX0001", width: 14,
			hint: "必填。人员编号（不超过64个字符）。同一文件内不得重复；已存在的工号将更新该人员。"},
		{name: "name", header: "姓名", aliases: []string{"名称", "人员姓名"},
			typ: typeText, required: true, sqlType: "text", example: "张三", width: 10,
			hint: "必填。"},
		{name: "region", header: "所属区域", aliases: []string{"区域", "所属辖区", "辖区", "行政区划", "region_code"},
			typ: typeRegion, required: true, sqlType: "text", dbColumn: "region_code", example: "南湖区", width: 16,
			hint: "必填。区域名称或代码，如 南湖区 或 330402。"},
		{name: "unit", header: "所属单位", aliases: []string{"所属站所", "单位", "站所", "所属所站"},
			typ: typeText, sqlType: "text", example: "城南所", width: 14,
			hint: "所属单位或所（站），用于跨所回避。"},
		{name: "certificate_no", header: "执法证号", aliases: []string{"执法证件号", "执法证件号码", "执法证编号", "证件号码"},
			typ: typeText, sqlType: "text", example: "33040012345", width: 16},
		{name: "certificate_valid_until", header: "执法证有效期至", aliases: []string{"证件有效期至", "执法证有效期", "有效期至"},
			typ: typeDate, sqlType: "date", example: "2027-12-31", width: 14,
			hint: "格式 2027-12-31；过期人员不参与匹配。"},
		{name: "tags", header: "标签", aliases: []string{"资质", "专长", "资质标签"},
			typ: typeTags, sqlType: "text[]", example: "测绘;组长", width: 16,
			hint: "资质、专长等，多个用分号、逗号或竖线分隔。"},
		{name: "status", header: "状态", aliases: []string{"在岗状态"},
			typ: typeVocab, vocab: library.InspectorStatuses, def: "active", sqlType: "text", example: "在岗", width: 10,
			hint: "在岗、休假、退休（或 active、on_leave、retired）。留空为在岗。"},
		{name: "max_load", header: "最大任务数", aliases: []string{"最大检查任务数", "任务上限"},
			typ: typeInt, def: "20", min: 1, sqlType: "int", example: "20", width: 10,
			hint: "每批次最多承担的检查对象数，正整数。留空为 20。"},
	},
}

func init() {
	Objects.check = checkObject
	Libraries[Objects.Name] = Objects
	Libraries[Inspectors.Name] = Inspectors
	for _, l := range []*Library{Objects, Inspectors} {
		for _, c := range l.columns {
			if c.typ == typeKey && c.example == "" {
				c.example = exampleUSCC
			}
		}
	}
}

// exampleUSCC is a well-formed code for the template, issued to nobody.
var exampleUSCC = func() string {
	body := "91330402MA2B3C4D"
	org, err := uscc.OrgCheckChar(body[8:])
	if err != nil {
		panic(err)
	}
	check, err := uscc.CheckChar(body + string(org))
	if err != nil {
		panic(err)
	}
	return body + string(org) + string(check)
}()

// vocabHint lists a vocabulary's codes with their Chinese terms.
func vocabHint(v *library.Vocabulary) string {
	var b strings.Builder
	for i, code := range v.Codes() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(code)
		if zh := v.Chinese(code); zh != "" && zh != code {
			b.WriteString(" (" + zh + ")")
		}
	}
	return b.String()
}
