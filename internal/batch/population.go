package batch

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

// A reason is why an object in scope is left out of the population.
type reason int

const (
	eligible          reason = iota
	recentlyInspected        // inspected within the window
	openFollowUp             // a follow-up is open
	inOpenBatch              // drawn for the same item in another open batch
)

// Excluded counts the objects left out, by reason.
type Excluded struct {
	RecentlyInspected int `json:"recently_inspected"`
	OpenFollowUp      int `json:"open_follow_up"`
	InOpenBatch       int `json:"in_open_batch"`
}

func (e *Excluded) add(r reason, n int) {
	switch r {
	case recentlyInspected:
		e.RecentlyInspected += n
	case openFollowUp:
		e.OpenFollowUp += n
	case inOpenBatch:
		e.InOpenBatch += n
	}
}

// Total is the number of objects left out for any reason.
func (e Excluded) Total() int { return e.RecentlyInspected + e.OpenFollowUp + e.InOpenBatch }

// StratumExcluded counts the objects left out of one stratum: those that
// would have had its label.
type StratumExcluded struct {
	Label string `json:"label"`
	Excluded
}

// Exclusions is the record of a freeze's exclusions, stored with the batch
// and published in its proof.
type Exclusions struct {
	// WindowFrom is the first day of the no-repeat window (China Standard
	// Time): an object last inspected on or after it was left out, unless
	// the rules exempt it. Empty when the window is off.
	WindowFrom string            `json:"window_from,omitempty"`
	Total      Excluded          `json:"total"`
	Strata     []StratumExcluded `json:"strata"` // strata with at least one exclusion, by label
}

// chinaTime is China Standard Time, which has no daylight saving: the
// window counts calendar days where the inspections happen.
var chinaTime = time.FixedZone("CST", 8*60*60)

// windowFrom returns the first day inside a window of days ending at now.
func windowFrom(now time.Time, days int) time.Time {
	y, m, d := now.In(chinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -days+1)
}

// A group is one row of the population query: the objects of one item
// that share their stratum values and their reason for being left out.
type group struct {
	item   int      // index into rules.items
	values []string // stratum key values, in the order of rules.keys
	reason reason
	count  int
	keys   string // the object keys joined by LF, when asked for
}

// keysWanted says which groups' object keys the population query returns.
type keysWanted int

const (
	noKeys       keysWanted = iota // counts only
	eligibleKeys                   // keys of the eligible objects
	allKeys                        // keys of every object in scope, for joint draws
)

// queryGroups runs the population query of every item of r: the active
// objects in scope, grouped by stratum values and exclusion reason. The
// grouping happens in PostgreSQL and the keys come back as one string per
// group, which is several times faster than a row per object.
func queryGroups(ctx context.Context, q sqlx.QueryerContext, r *rules, batchID string, now time.Time, want keysWanted) ([]group, error) {
	days := *r.Exclusions.WindowDays
	from := windowFrom(now, days)
	var groups []group
	for i, it := range r.items {
		if len(r.Filter.Kinds) > 0 && !slices.Contains(r.Filter.Kinds, it.Kind) {
			continue
		}
		args := []any{
			it.Kind, pq.Array(nonNil(it.Tags)), pq.Array(r.Filter.Tags), pq.Array(r.Filter.Regions),
			r.windowApplies(it), from.Format(time.DateOnly), r.Exclusions.ApplyWindowToHighRisk,
			it.Code, batchID,
		}
		var cols []string
		for _, sk := range r.keys {
			switch sk.name {
			case "risk":
				cols = append(cols, "o.risk_level")
			case "credit":
				cols = append(cols, "o.credit_class")
			case "region":
				cols = append(cols, "o.region_code")
			default:
				args = append(args, pq.Array([]string{sk.tag}))
				cols = append(cols, fmt.Sprintf("CASE WHEN o.tags @> $%d::text[] THEN 'yes' ELSE 'no' END", len(args)))
			}
		}
		var sel, groupBy strings.Builder
		for k, c := range cols {
			fmt.Fprintf(&sel, "%s AS k%d, ", c, k)
			fmt.Fprintf(&groupBy, "k%d, ", k)
		}
		agg := "NULL::text"
		switch want {
		case eligibleKeys:
			agg = "string_agg(key, E'\\n') FILTER (WHERE reason = 0)"
		case allKeys:
			agg = "string_agg(key, E'\\n')"
		}
		// Only bind parameters carry values; the statement's text comes
		// from the fixed fragments above.
		query := `
			SELECT ` + groupBy.String() + `reason, count(*)::int, ` + agg + `
			FROM (
				SELECT o.key, ` + sel.String() + `
					CASE
						WHEN $5 AND o.last_inspected_at >= $6::date AND (o.risk_level <> 'high' OR $7) THEN 1
						WHEN o.key IN (SELECT f.object_key FROM object_follow_ups f WHERE f.closed_at IS NULL) THEN 2
						WHEN o.key IN (
							SELECT bo.object_key FROM batch_objects bo JOIN batches b ON b.id = bo.batch_id
							WHERE b.state NOT IN ('archived', 'cancelled') AND b.id <> $9 AND $8 = ANY (bo.item_codes)
						) THEN 3
						ELSE 0
					END AS reason
				FROM objects o
				WHERE o.kind = $1 AND o.status = 'active' AND o.tags @> $2::text[] AND o.tags @> $3::text[]
					AND (cardinality($4::text[]) = 0 OR o.region_code = ANY ($4::text[])
						OR o.region_code IN (SELECT code FROM regions WHERE parent_code = ANY ($4::text[])))
			) p
			GROUP BY ` + groupBy.String() + `reason`
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("query population of item %s: %w", it.Code, err)
		}
		dest := make([]any, len(cols)+3)
		values := make([]string, len(cols))
		for k := range values {
			dest[k] = &values[k]
		}
		var g group
		var keys sql.NullString
		dest[len(cols)], dest[len(cols)+1], dest[len(cols)+2] = &g.reason, &g.count, &keys
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read population of item %s: %w", it.Code, err)
			}
			groups = append(groups, group{item: i, values: slices.Clone(values), reason: g.reason, count: g.count, keys: keys.String})
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read population of item %s: %w", it.Code, err)
		}
		rows.Close()
	}
	return groups, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// A population is what a freeze fixes: the entries in canonical order,
// each stratum's quota rule, the exclusions, and for a joint draw the
// items that apply to each object to which more than one does.
type population struct {
	entries    []draw.Entry
	quotas     map[string]draw.Quota
	exclusions Exclusions
	jointItems map[string][]string
}

// buildPopulation turns the groups into the population. In a joint draw
// an object in scope of several items is one entry (one visit): it takes
// the label of the first item, in the rules' order, for which it is
// eligible, and is counted as excluded only when excluded for every item,
// under the first item's label and reason.
func buildPopulation(r *rules, groups []group, windowOn bool, now time.Time) *population {
	p := &population{quotas: map[string]draw.Quota{}}
	excluded := map[string]*Excluded{}
	exclude := func(label string, why reason, n int) {
		e := excluded[label]
		if e == nil {
			e = &Excluded{}
			excluded[label] = e
		}
		e.add(why, n)
		p.exclusions.Total.add(why, n)
	}
	// Labels are shared by every entry of a stratum.
	labels := map[string]string{}
	labelOf := func(g group) string {
		l := r.label(r.items[g.item], g.values)
		if shared, ok := labels[l]; ok {
			return shared
		}
		labels[l] = l
		p.quotas[l] = r.quotaFor(r.items[g.item], g.values)
		return l
	}

	if len(r.items) == 1 {
		n := 0
		for _, g := range groups {
			if g.reason == eligible {
				n += g.count
			}
		}
		p.entries = make([]draw.Entry, 0, n)
		for _, g := range groups {
			label := labelOf(g)
			if g.reason != eligible {
				exclude(label, g.reason, g.count)
				continue
			}
			p.entries = appendKeys(p.entries, g.keys, label)
		}
	} else {
		p.entries = joinItems(r, groups, labelOf, exclude, p)
	}
	// A label made only for excluded objects has no stratum.
	present := map[string]bool{}
	for _, e := range p.entries {
		present[e.Stratum] = true
	}
	for l := range p.quotas {
		if !present[l] {
			delete(p.quotas, l)
		}
	}
	sortEntries(p.entries)

	if windowOn {
		p.exclusions.WindowFrom = windowFrom(now, *r.Exclusions.WindowDays).Format(time.DateOnly)
	}
	p.exclusions.Strata = []StratumExcluded{}
	for _, l := range slices.Sorted(maps.Keys(excluded)) {
		p.exclusions.Strata = append(p.exclusions.Strata, StratumExcluded{Label: l, Excluded: *excluded[l]})
	}
	return p
}

// joinItems builds the entries of a joint draw, deduplicating objects.
func joinItems(r *rules, groups []group, labelOf func(group) string, exclude func(string, reason, int), p *population) []draw.Entry {
	type object struct {
		label  string
		reason reason
		items  []string // items that apply, when eligible
	}
	objects := map[string]*object{}
	var order []string
	// Groups come item by item, in the rules' order.
	for _, g := range groups {
		label := labelOf(g)
		code := r.items[g.item].Code
		forEachKey(g.keys, func(key string) {
			o := objects[key]
			switch {
			case o == nil:
				o = &object{label: label, reason: g.reason}
				if g.reason == eligible {
					o.items = []string{code}
				}
				objects[key] = o
				order = append(order, key)
			case g.reason != eligible:
				// Eligible or excluded by an earlier item already.
			case o.reason != eligible:
				// Excluded by an earlier item, eligible for this one.
				o.label, o.reason, o.items = label, eligible, []string{code}
			default:
				o.items = append(o.items, code)
			}
		})
	}
	var entries []draw.Entry
	for _, key := range order {
		o := objects[key]
		if o.reason != eligible {
			exclude(o.label, o.reason, 1)
			continue
		}
		entries = append(entries, draw.Entry{ObjectKey: key, Stratum: o.label})
		if len(o.items) > 1 {
			if p.jointItems == nil {
				p.jointItems = map[string][]string{}
			}
			p.jointItems[key] = o.items
		}
	}
	return entries
}

// appendKeys appends an entry of label for every key of keys, LF-joined.
// The keys are substrings of keys, not copies.
func appendKeys(entries []draw.Entry, keys, label string) []draw.Entry {
	forEachKey(keys, func(key string) {
		entries = append(entries, draw.Entry{ObjectKey: key, Stratum: label})
	})
	return entries
}

func forEachKey(keys string, f func(string)) {
	for len(keys) > 0 {
		i := strings.IndexByte(keys, '\n')
		if i < 0 {
			f(keys)
			return
		}
		f(keys[:i])
		keys = keys[i+1:]
	}
}

// strataKeys returns, for each stratum label of entries (sorted by key),
// the keys of its entries in that order, LF-terminated: the stored form of
// the frozen population.
func strataKeys(entries []draw.Entry) map[string]*strings.Builder {
	sizes := map[string]int{}
	for _, e := range entries {
		sizes[e.Stratum] += len(e.ObjectKey) + 1
	}
	out := make(map[string]*strings.Builder, len(sizes))
	for l, n := range sizes {
		b := &strings.Builder{}
		b.Grow(n)
		out[l] = b
	}
	var last string
	var b *strings.Builder
	for _, e := range entries {
		if e.Stratum != last || b == nil {
			last, b = e.Stratum, out[e.Stratum]
		}
		b.WriteString(e.ObjectKey)
		b.WriteByte('\n')
	}
	return out
}

// storedStratum is one row of batch_population.
type storedStratum struct {
	label string
	size  int
	keys  string
}

// loadPopulation reads a frozen population back in canonical order.
func loadPopulation(ctx context.Context, q sqlx.QueryerContext, batchID string) ([]draw.Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT stratum, size, keys FROM batch_population WHERE batch_id = $1`, batchID)
	if err != nil {
		return nil, fmt.Errorf("read population of batch %s: %w", batchID, err)
	}
	defer rows.Close()
	var strata []storedStratum
	total := 0
	for rows.Next() {
		var s storedStratum
		if err := rows.Scan(&s.label, &s.size, &s.keys); err != nil {
			return nil, fmt.Errorf("read population of batch %s: %w", batchID, err)
		}
		strata = append(strata, s)
		total += s.size
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read population of batch %s: %w", batchID, err)
	}
	runs := make([][]draw.Entry, len(strata))
	for i, s := range strata {
		runs[i] = make([]draw.Entry, 0, s.size)
		runs[i] = appendKeys(runs[i], strings.TrimSuffix(s.keys, "\n"), s.label)
		if len(runs[i]) != s.size {
			return nil, fmt.Errorf("population of batch %s, stratum %s: %d keys stored, size says %d", batchID, s.label, len(runs[i]), s.size)
		}
	}
	return mergeRuns(runs, total), nil
}

// writePopulation stores the frozen population, one row per stratum.
func writePopulation(ctx context.Context, tx *sqlx.Tx, batchID string, p *population) error {
	strata := strataKeys(p.entries)
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO batch_population (batch_id, stratum, size, keys) VALUES ($1, $2, $3, $4)`)
	if err != nil {
		return fmt.Errorf("store population: %w", err)
	}
	defer stmt.Close()
	for _, label := range slices.Sorted(maps.Keys(strata)) {
		keys := strata[label].String()
		if _, err := stmt.ExecContext(ctx, batchID, label, strings.Count(keys, "\n"), keys); err != nil {
			return fmt.Errorf("store population stratum %s: %w", label, err)
		}
	}
	if len(p.jointItems) > 0 {
		keys := slices.Sorted(maps.Keys(p.jointItems))
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = strings.Join(p.jointItems[k], ",")
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO batch_population_items (batch_id, object_key, item_codes)
			SELECT $1, k, string_to_array(i, ',') FROM unnest($2::text[], $3::text[]) AS u (k, i)`,
			batchID, pq.Array(keys), pq.Array(items)); err != nil {
			return fmt.Errorf("store items of joint objects: %w", err)
		}
	}
	return nil
}

// countingWriter counts the bytes written to it and discards them.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(b []byte) (int, error) {
	w.n += int64(len(b))
	return len(b), nil
}

// itemOfLabel returns the item code of a stratum label.
func itemOfLabel(label string) string {
	code, _, _ := strings.Cut(strings.TrimPrefix(label, "item="), ";")
	return code
}
