// Package library manages the item list and the two libraries (一单两库):
// check items with their versions, the object directory and the inspector
// directory, each change kept with who made it.
package library

import (
	"math/big"
	"strings"
)

// A Vocabulary is a closed set of canonical codes (used by the API, exports
// and the database) with the Chinese terms that imports also accept.
type Vocabulary struct {
	Name  string
	codes []string
	alias map[string]string // lower-cased code or Chinese term -> code
	zh    map[string]string // code -> Chinese term
}

func newVocabulary(name string, pairs ...string) *Vocabulary {
	v := &Vocabulary{Name: name, alias: map[string]string{}, zh: map[string]string{}}
	for i := 0; i < len(pairs); i += 2 {
		code, term := pairs[i], pairs[i+1]
		v.codes = append(v.codes, code)
		v.zh[code] = term
		v.alias[strings.ToLower(code)] = code
		for _, t := range strings.Split(term, "|") {
			v.alias[t] = code
		}
		v.zh[code] = strings.Split(term, "|")[0]
	}
	return v
}

// Codes lists the canonical codes in their natural order.
func (v *Vocabulary) Codes() []string { return append([]string(nil), v.codes...) }

// Canonical maps a code or Chinese term (case-insensitive for codes,
// surrounding spaces ignored) to its code.
func (v *Vocabulary) Canonical(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if c, ok := v.alias[s]; ok {
		return c, true
	}
	c, ok := v.alias[strings.ToLower(s)]
	return c, ok
}

// Chinese returns the Chinese term of a code, for pages and public output.
func (v *Vocabulary) Chinese(code string) string { return v.zh[code] }

// The vocabularies of DOMAIN.md ("Canonical values").
var (
	ObjectKinds = newVocabulary("object kind",
		"enterprise", "企业", "project", "项目", "product", "产品", "behaviour", "行为", "other", "其他")
	RiskLevels = newVocabulary("risk level",
		"low", "低|低风险", "normal", "一般|一般风险|中", "raised", "较高|较高风险|中高", "high", "高|高风险")
	CreditClasses = newVocabulary("credit class",
		"A", "A类|A级", "B", "B类|B级", "C", "C类|C级", "D", "D类|D级")
	ObjectStatuses = newVocabulary("object status",
		"active", "正常|存续|在业", "closed", "停业|关闭", "cancelled", "注销", "revoked", "吊销|撤销", "moved_out", "迁出")
	InspectorStatuses = newVocabulary("inspector status",
		"active", "在岗|正常", "on_leave", "休假|离岗", "retired", "退休|离职")
	ItemClasses = newVocabulary("item class",
		"general", "一般检查事项|一般", "key", "重点检查事项|重点")
	Methods = newVocabulary("inspection method",
		"on_site", "实地检查|现场检查|现场", "written", "书面检查|书面", "online", "网络监测|网络",
		"commissioned", "委托专业机构|委托", "testing", "检验检测", "other_authority", "行政部门检查结果或专业意见")
)

// GeneralRatioCap is the highest ratio of a general item (一般检查事项):
// its default ratio, and a batch's ratio set for the item as a whole, may
// not exceed it; a key item (重点检查事项) has no cap, and the raised
// ratios of high-risk or poorly rated strata are differentiated
// supervision, not the item's ratio. 30% is the highest ratio DOMAIN.md
// names (one province's high-risk rate).
const GeneralRatioCap = "0.3"

// AboveGeneralCap reports whether ratio (a decimal) exceeds
// GeneralRatioCap; a ratio that does not parse is not above it (its own
// check names it).
func AboveGeneralCap(ratio string) bool {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(ratio))
	if !ok {
		return false
	}
	limit, _ := new(big.Rat).SetString(GeneralRatioCap)
	return r.Cmp(limit) > 0
}
