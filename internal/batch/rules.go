package batch

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/library"
)

// Rules are the draw rules stored with a batch: which item versions, which
// objects (the filter), how the population is split into strata, how many
// are drawn from each stratum and which objects are left out.
type Rules struct {
	Items      []ItemRef      `json:"items"`
	Filter     Filter         `json:"filter"`
	StrataKeys []string       `json:"strata_keys"`
	Quotas     []QuotaRule    `json:"quotas"`
	Exclusions ExclusionRules `json:"exclusions"`
}

// An ItemRef names one version of a check item. The population of an
// item is the active objects of its object kind carrying all its object
// tags, narrowed by the filter.
type ItemRef struct {
	Code    string `json:"code"`
	Version int    `json:"version"`
}

// A Filter narrows the population; an empty list does not narrow.
type Filter struct {
	Kinds []string `json:"kinds"` // object kinds
	Tags  []string `json:"tags"`  // the object carries all of them
	// Regions lists region codes (names are accepted and stored as codes);
	// an object is in when its region or its region's parent is listed.
	Regions []string `json:"regions"`
}

// A QuotaRule sets the quota of the strata it matches: the first rule
// whose When matches a stratum's values applies. A rule without When
// matches every stratum and must come last; without one, a stratum gets
// its item version's default ratio. Exactly one of Count and Ratio is set;
// Min raises a ratio's quota (see [draw.Quota]).
type QuotaRule struct {
	// When maps stratum keys ("item" or one of the strata keys) to values.
	When  map[string]string `json:"when,omitempty"`
	Count *int              `json:"count,omitempty"`
	Ratio string            `json:"ratio,omitempty"`
	Min   int               `json:"min,omitempty"`
}

func (q QuotaRule) quota() draw.Quota {
	return draw.Quota{Count: q.Count, Ratio: q.Ratio, Min: q.Min}
}

// ExclusionRules say which objects are left out of the population. An
// object with an open follow-up, and one already drawn for the same item
// in another batch that is neither archived nor cancelled, are always
// left out; one inspected within the window is left out unless the item
// is a key item (重点) or the object is high-risk, each unless configured.
type ExclusionRules struct {
	// WindowDays: an object last inspected fewer than this many days
	// before the freeze (in China Standard Time) is left out. Default 365;
	// 0 turns the rule off.
	WindowDays            *int `json:"window_days,omitempty"`
	ApplyWindowToKeyItems bool `json:"apply_window_to_key_items"`
	ApplyWindowToHighRisk bool `json:"apply_window_to_high_risk"`
}

// DefaultWindowDays is the no-repeat-inspection window when the rules do
// not set one.
const DefaultWindowDays = 365

const (
	maxItems      = 20
	maxStrataKeys = 8
	maxQuotas     = 200
	maxListLen    = 200
	maxWindowDays = 3650
	maxTagLen     = 64
	maxNameLen    = 200
	maxBeaconLen  = 4096
)

var (
	validBatchID  = regexp.MustCompile(`^[0-9A-Za-z._-]{1,64}$`)
	validItemCode = regexp.MustCompile(`^[0-9A-Za-z-]{1,32}$`)
)

// An item is what a batch needs of one check item version.
type item struct {
	ItemRef
	Kind         string
	Tags         []string
	Class        string // general or key
	DefaultRatio string
}

// A stratumKey is one of the validated strata keys: "risk", "credit",
// "region" or "tag:<name>".
type stratumKey struct {
	name string // as written in labels and in When
	tag  string // the tag of a "tag:" key
}

// rules are validated Rules with what the draw needs from the database.
type rules struct {
	Rules
	items []item
	keys  []stratumKey
}

// checkRules validates r completely, reading the items and regions it
// names, and returns it normalised: defaults filled in, vocabulary terms
// and region names replaced by codes, nil lists made empty. Every problem
// is reported, each with its field path under prefix (such as "rules").
func checkRules(ctx context.Context, q sqlx.QueryerContext, prefix string, r Rules) (*rules, error) {
	c := &ruleCheck{v: &validator{prefix: prefix}, r: r, out: &rules{Rules: Rules{
		Items:      []ItemRef{},
		Filter:     Filter{Kinds: []string{}, Tags: []string{}, Regions: []string{}},
		StrataKeys: []string{},
		Quotas:     []QuotaRule{},
		Exclusions: r.Exclusions,
	}}}
	c.items()
	c.filter()
	c.strataKeys()
	c.quotas()
	c.exclusions()
	// What only the database knows: items and regions.
	if err := c.storedItems(ctx, q); err != nil {
		return nil, err
	}
	c.generalRatioCap()
	if err := c.regions(ctx, q); err != nil {
		return nil, err
	}
	c.kindsCovered()
	if err := fault.Invalids("the draw rules are not valid", c.v.problems); err != nil {
		return nil, err
	}
	return c.out, nil
}

// A ruleCheck is one validation of draw rules: each part of the rules has
// its method, and every method adds its problems to v.
type ruleCheck struct {
	v   *validator
	r   Rules
	out *rules
	// regionRefs are region codes or names met in the rules, resolved
	// against the database together by regions.
	regionRefs []regionRef
}

type regionRef struct {
	field, value string
	set          func(code string)
}

// items checks the item references.
func (c *ruleCheck) items() {
	v, r, out := c.v, c.r, c.out
	switch {
	case len(r.Items) == 0:
		v.add("items", "needs at least one check item, such as {\"code\": \"ZR-01\", \"version\": 1}")
	case len(r.Items) > maxItems:
		v.add("items", "lists %d items; a batch draws for at most %d", len(r.Items), maxItems)
	}
	seen := map[string]bool{}
	for i, it := range r.Items {
		f := fmt.Sprintf("items[%d]", i)
		ok := true
		if !validItemCode.MatchString(it.Code) {
			v.add(f+".code", "%q is not an item code (1 to 32 letters, digits and hyphens)", it.Code)
			ok = false
		} else if seen[it.Code] {
			v.add(f+".code", "%s is listed twice", it.Code)
			ok = false
		}
		if it.Version < 1 {
			v.add(f+".version", "must be a version number from 1, got %d", it.Version)
			ok = false
		}
		seen[it.Code] = true
		if ok && len(r.Items) <= maxItems {
			out.Items = append(out.Items, it)
		}
	}

}

// filter checks the object kinds and tags of the filter.
func (c *ruleCheck) filter() {
	v, r, out := c.v, c.r, c.out
	for i, k := range r.Filter.Kinds {
		code, ok := library.ObjectKinds.Canonical(k)
		if !ok {
			v.add(fmt.Sprintf("filter.kinds[%d]", i), "%q is not an object kind (one of %s)", k, strings.Join(library.ObjectKinds.Codes(), ", "))
			continue
		}
		if !slices.Contains(out.Filter.Kinds, code) {
			out.Filter.Kinds = append(out.Filter.Kinds, code)
		}
	}
	for i, t := range r.Filter.Tags {
		if p := tagProblem(t); p != "" {
			v.add(fmt.Sprintf("filter.tags[%d]", i), "%s", p)
			continue
		}
		if !slices.Contains(out.Filter.Tags, t) {
			out.Filter.Tags = append(out.Filter.Tags, t)
		}
	}
	if len(r.Filter.Regions) > maxListLen {
		v.add("filter.regions", "lists %d regions, more than %d", len(r.Filter.Regions), maxListLen)
	}

}

// strataKeys checks the strata keys.
func (c *ruleCheck) strataKeys() {
	v, r, out := c.v, c.r, c.out
	if len(r.StrataKeys) > maxStrataKeys {
		v.add("strata_keys", "lists %d keys, more than %d", len(r.StrataKeys), maxStrataKeys)
	}
	for i, k := range r.StrataKeys {
		f := fmt.Sprintf("strata_keys[%d]", i)
		var sk stratumKey
		switch {
		case k == "risk" || k == "credit" || k == "region":
			sk = stratumKey{name: k}
		case strings.HasPrefix(k, "tag:"):
			tag := strings.TrimPrefix(k, "tag:")
			if p := tagProblem(tag); p != "" {
				v.add(f, "the tag of %q %s", k, p)
				continue
			}
			if strings.ContainsAny(tag, ";=") {
				v.add(f, "the tag of %q contains ';' or '=', which stratum labels use as separators", k)
				continue
			}
			sk = stratumKey{name: k, tag: tag}
		case k == "item":
			v.add(f, "\"item\" is always the first key of a stratum; leave it out")
			continue
		default:
			v.add(f, "%q is not a stratum key: use risk, credit, region or tag:<name>", k)
			continue
		}
		if slices.ContainsFunc(out.keys, func(x stratumKey) bool { return x.name == sk.name }) {
			v.add(f, "%q is listed twice", k)
			continue
		}
		out.keys = append(out.keys, sk)
		out.StrataKeys = append(out.StrataKeys, k)
	}

}

// quotas checks the quota rules; region values are resolved by regions.
func (c *ruleCheck) quotas() {
	v, r, out := c.v, c.r, c.out
	if len(r.Quotas) > maxQuotas {
		v.add("quotas", "lists %d rules, more than %d", len(r.Quotas), maxQuotas)
	}
	for i, qr := range r.Quotas {
		f := fmt.Sprintf("quotas[%d]", i)
		norm := QuotaRule{Count: qr.Count, Ratio: qr.Ratio, Min: qr.Min}
		if err := qr.quota().Validate(); err != nil {
			fe := err.(*draw.FieldError)
			field := f
			if fe.Field != "" {
				field += "." + fe.Field
			}
			v.add(field, "%s", fe.Problem)
		}
		if len(qr.When) == 0 && i != len(r.Quotas)-1 {
			v.add(f+".when", "is missing, so the rule matches every stratum and the rules after it could never apply; give it a when or move it last")
		}
		if len(qr.When) > 0 {
			norm.When = map[string]string{}
		}
		for _, k := range sortedKeys(qr.When) {
			val := qr.When[k]
			wf := f + ".when." + k
			switch {
			case k == "item":
				if !slices.ContainsFunc(r.Items, func(it ItemRef) bool { return it.Code == val }) {
					v.add(wf, "%q is not one of the batch's items", val)
					continue
				}
				norm.When[k] = val
			case !slices.Contains(r.StrataKeys, k):
				v.add(wf, "%q is not a stratum key of this batch; add it to strata_keys or use one of: item %s", k, strings.Join(r.StrataKeys, " "))
			case k == "risk":
				code, ok := library.RiskLevels.Canonical(val)
				if !ok {
					v.add(wf, "%q is not a risk level (one of %s)", val, strings.Join(library.RiskLevels.Codes(), ", "))
					continue
				}
				norm.When[k] = code
			case k == "credit":
				code, ok := library.CreditClasses.Canonical(val)
				if !ok {
					v.add(wf, "%q is not a credit class (one of %s)", val, strings.Join(library.CreditClasses.Codes(), ", "))
					continue
				}
				norm.When[k] = code
			case k == "region":
				w := norm.When
				c.regionRefs = append(c.regionRefs, regionRef{wf, val, func(code string) { w["region"] = code }})
			case strings.HasPrefix(k, "tag:"):
				switch val {
				case "yes", "是", "true":
					norm.When[k] = "yes"
				case "no", "否", "false":
					norm.When[k] = "no"
				default:
					v.add(wf, "%q is not yes or no", val)
				}
			}
		}
		out.Quotas = append(out.Quotas, norm)
	}

}

// exclusions checks the exclusion window and fills in its default.
func (c *ruleCheck) exclusions() {
	v, r, out := c.v, c.r, c.out
	if w := r.Exclusions.WindowDays; w != nil && (*w < 0 || *w > maxWindowDays) {
		v.add("exclusions.window_days", "must be a number of days from 0 (no window) to %d, got %d", maxWindowDays, *w)
	}
	if r.Exclusions.WindowDays == nil {
		d := DefaultWindowDays
		out.Exclusions.WindowDays = &d
	}
}

// storedItems reads the items: each must exist in its version, published.
func (c *ruleCheck) storedItems(ctx context.Context, q sqlx.QueryerContext) error {
	v, out := c.v, c.out
	if len(out.Items) == 0 {
		return nil
	}
	items, err := loadItems(ctx, q, out.Items)
	if err != nil {
		return err
	}
	for i, ref := range out.Items {
		it, ok := items[ref]
		switch {
		case !ok:
			v.add(fmt.Sprintf("items[%d].version", i), "check item %s has no version %d", ref.Code, ref.Version)
		case !it.published:
			v.add(fmt.Sprintf("items[%d].version", i), "version %d of check item %s is not published; publish it before drawing for it", ref.Version, ref.Code)
		default:
			out.items = append(out.items, it.item)
		}
	}
	return nil
}

// generalRatioCap refuses a general item's own ratio above the cap; strata
// raised by risk or credit are differentiated supervision and may go
// higher.
func (c *ruleCheck) generalRatioCap() {
	v, out := c.v, c.out
	for i, qr := range out.Quotas {
		code := qr.When["item"]
		_, byRisk := qr.When["risk"]
		_, byCredit := qr.When["credit"]
		if code == "" || byRisk || byCredit || !library.AboveGeneralCap(qr.Ratio) {
			continue
		}
		if slices.ContainsFunc(out.items, func(it item) bool { return it.Code == code && it.Class == "general" }) {
			v.add(fmt.Sprintf("quotas[%d].ratio", i), "%s is above the cap of general items (一般检查事项), %s, for item %s; only a key item (重点检查事项) may be drawn at a higher ratio", qr.Ratio, library.GeneralRatioCap, code)
		}
	}
}

// regions resolves the region codes and names of the filter and quotas.
func (c *ruleCheck) regions(ctx context.Context, q sqlx.QueryerContext) error {
	v, r, out := c.v, c.r, c.out
	for i, reg := range r.Filter.Regions {
		c.regionRefs = append(c.regionRefs, regionRef{fmt.Sprintf("filter.regions[%d]", i), reg, func(code string) {
			if !slices.Contains(out.Filter.Regions, code) {
				out.Filter.Regions = append(out.Filter.Regions, code)
			}
		}})
	}
	if len(c.regionRefs) > 0 {
		names := make([]string, len(c.regionRefs))
		for i, ref := range c.regionRefs {
			names[i] = ref.value
		}
		codes, err := regionCodes(ctx, q, names)
		if err != nil {
			return err
		}
		for _, ref := range c.regionRefs {
			code, ok := codes[ref.value]
			if !ok {
				v.add(ref.field, "%q is not a region code or name", ref.value)
				continue
			}
			ref.set(code)
		}
	}
	return nil
}

// kindsCovered refuses a kind filter that leaves out every item's kind.
func (c *ruleCheck) kindsCovered() {
	v, r, out := c.v, c.r, c.out
	if len(out.Filter.Kinds) > 0 && len(out.items) == len(r.Items) && len(out.items) > 0 &&
		!slices.ContainsFunc(out.items, func(it item) bool { return slices.Contains(out.Filter.Kinds, it.Kind) }) {
		v.add("filter.kinds", "leaves out the object kind of every item (%s)", itemKinds(out.items))
	}

}

func itemKinds(items []item) string {
	var kinds []string
	for _, it := range items {
		if !slices.Contains(kinds, it.Kind) {
			kinds = append(kinds, it.Kind)
		}
	}
	return strings.Join(kinds, ", ")
}

// windowApplies reports whether the no-repeat window applies to an item's
// objects at all; high-risk objects are decided per object.
func (r *rules) windowApplies(it item) bool {
	return *r.Exclusions.WindowDays > 0 && (it.Class != "key" || r.Exclusions.ApplyWindowToKeyItems)
}

// quotaFor returns the rule of the stratum of an item whose stratum keys
// have values: the first quota rule that matches, else the item's default
// ratio.
func (r *rules) quotaFor(it item, values []string) draw.Quota {
	for _, qr := range r.Quotas {
		if r.matches(qr, it, values) {
			return qr.quota()
		}
	}
	return draw.Quota{Ratio: it.DefaultRatio}
}

func (r *rules) matches(qr QuotaRule, it item, values []string) bool {
	for k, want := range qr.When {
		if k == "item" {
			if it.Code != want {
				return false
			}
			continue
		}
		i := slices.IndexFunc(r.keys, func(sk stratumKey) bool { return sk.name == k })
		if i < 0 || values[i] != want {
			return false
		}
	}
	return true
}

// label returns the stratum label of an item's objects whose stratum keys
// have values, such as "item=ZR-01;risk=high;region=330402".
func (r *rules) label(it item, values []string) string {
	var b strings.Builder
	b.WriteString("item=")
	b.WriteString(it.Code)
	for i, sk := range r.keys {
		b.WriteByte(';')
		b.WriteString(sk.name)
		b.WriteByte('=')
		b.WriteString(values[i])
	}
	return b.String()
}

type storedItem struct {
	item
	published bool
}

func loadItems(ctx context.Context, q sqlx.QueryerContext, refs []ItemRef) (map[ItemRef]storedItem, error) {
	codes := make([]string, len(refs))
	versions := make([]int64, len(refs))
	for i, r := range refs {
		codes[i], versions[i] = r.Code, int64(r.Version)
	}
	rows, err := q.QueryxContext(ctx, `
		SELECT c.code, c.version, c.object_kind, c.object_tags, c.class, c.default_ratio, c.published
		FROM check_items c
		JOIN unnest($1::text[], $2::int[]) AS r (code, version) ON r.code = c.code AND r.version = c.version`,
		pq.Array(codes), pq.Array(versions))
	if err != nil {
		return nil, fmt.Errorf("read check items: %w", err)
	}
	defer rows.Close()
	items := map[ItemRef]storedItem{}
	for rows.Next() {
		var it storedItem
		if err := rows.Scan(&it.Code, &it.Version, &it.Kind, pq.Array(&it.Tags), &it.Class, &it.DefaultRatio, &it.published); err != nil {
			return nil, fmt.Errorf("read check items: %w", err)
		}
		items[it.ItemRef] = it
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read check items: %w", err)
	}
	return items, nil
}

// regionCodes maps each of values that is a region code or name to the
// region's code.
func regionCodes(ctx context.Context, q sqlx.QueryerContext, values []string) (map[string]string, error) {
	rows, err := q.QueryxContext(ctx, `
		SELECT v.value, r.code FROM unnest($1::text[]) AS v (value)
		JOIN regions r ON r.code = btrim(v.value) OR r.name = btrim(v.value)`, pq.Array(values))
	if err != nil {
		return nil, fmt.Errorf("read regions: %w", err)
	}
	defer rows.Close()
	codes := map[string]string{}
	for rows.Next() {
		var value, code string
		if err := rows.Scan(&value, &code); err != nil {
			return nil, fmt.Errorf("read regions: %w", err)
		}
		codes[value] = code
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read regions: %w", err)
	}
	return codes, nil
}

// tagProblem says what is wrong with a tag, if anything.
func tagProblem(t string) string {
	switch {
	case t == "":
		return "is empty"
	case len(t) > maxTagLen:
		return fmt.Sprintf("is longer than %d bytes", maxTagLen)
	case strings.TrimSpace(t) != t:
		return fmt.Sprintf("%q has spaces around it", t)
	case !utf8.ValidString(t):
		return "is not valid UTF-8"
	}
	if err := draw.ValidateText("", t); err != nil {
		return err.(*draw.FieldError).Problem
	}
	return ""
}

// A validator collects problems with their field paths.
type validator struct {
	prefix   string
	problems []fault.Problem
}

func (v *validator) add(field, format string, args ...any) {
	if v.prefix != "" {
		field = v.prefix + "." + field
	}
	v.problems = append(v.problems, fault.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
