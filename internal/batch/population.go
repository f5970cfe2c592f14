package batch

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
// that share their stratum values (and their region, when keys are asked
// for), counted and, when asked for, listed by their reason for being left
// out, eligible first.
type group struct {
	item   int      // index into rules.items
	values []string // stratum key values, in the order of rules.keys
	region string   // when keys are asked for
	counts [4]int   // by reason
	keys   [4]string
}

// keysWanted says which object keys the population query returns.
type keysWanted int

const (
	noKeys       keysWanted = iota // counts only
	eligibleKeys                   // keys of the eligible objects
	allKeys                        // keys of every object in scope, for joint draws
)

// queryGroups runs the population query of every item of r: the active
// objects in scope, grouped by stratum values. The grouping happens in
// PostgreSQL, and the keys of a group come back as one LF-joined string,
// which is several times faster than a row per object. With keys, the
// groups are also split by region, so that each drawn object's region is
// known without reading the directory again.
//
// blocks limits the query to a range of the objects table's pages, so that
// several connections can share the scan (see scanPopulation).
func queryGroups(ctx context.Context, tx *sqlx.Tx, r *rules, batchID string, now time.Time, want keysWanted, blocks blockRange) ([]group, error) {
	// The plan is simple and the same every time: compiling it is
	// slower than running it. The aggregates of a million keys need more
	// than the default 4 MB to stay in memory.
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '128MB'`); err != nil {
		return nil, fmt.Errorf("configure population query: %w", err)
	}
	from := windowFrom(now, *r.Exclusions.WindowDays)
	regionKey := slices.IndexFunc(r.keys, func(sk stratumKey) bool { return sk.name == "region" })
	var groups []group
	for i, it := range r.items {
		if len(r.Filter.Kinds) > 0 && !slices.Contains(r.Filter.Kinds, it.Kind) {
			continue
		}
		// Only bind parameters carry values; the statement's text is
		// made of the fixed fragments below, and leaves out the
		// conditions that cannot exclude anything: they cost time on
		// every object.
		var args []any
		arg := func(v any) string {
			args = append(args, v)
			return "$" + strconv.Itoa(len(args))
		}
		where := "o.kind = " + arg(it.Kind) + " AND o.status = 'active'"
		if blocks.from > 0 {
			where += " AND o.ctid >= " + arg(fmt.Sprintf("(%d,0)", blocks.from)) + "::tid"
		}
		if blocks.to >= 0 {
			where += " AND o.ctid < " + arg(fmt.Sprintf("(%d,0)", blocks.to)) + "::tid"
		}
		if tags := append(slices.Clone(it.Tags), r.Filter.Tags...); len(tags) > 0 {
			where += " AND o.tags @> " + arg(pq.Array(tags)) + "::text[]"
		}
		if len(r.Filter.Regions) > 0 {
			regions := arg(pq.Array(r.Filter.Regions))
			where += " AND (o.region_code = ANY (" + regions + "::text[]) OR o.region_code IN (SELECT code FROM regions WHERE parent_code = ANY (" + regions + "::text[])))"
		}
		reason := ""
		if r.windowApplies(it) {
			reason += "WHEN o.last_inspected_at >= " + arg(from.Format(time.DateOnly)) + "::date"
			if !r.Exclusions.ApplyWindowToHighRisk {
				reason += " AND o.risk_level <> 'high'"
			}
			reason += " THEN 1 "
		}
		reason += `WHEN o.key IN (SELECT f.object_key FROM object_follow_ups f WHERE f.closed_at IS NULL) THEN 2
			WHEN o.key IN (
				SELECT bo.object_key FROM batch_objects bo JOIN batches b ON b.id = bo.batch_id
				WHERE b.state NOT IN ('archived', 'cancelled') AND b.id <> ` + arg(batchID) + ` AND ` + arg(it.Code) + ` = ANY (bo.item_codes)
			) THEN 3`
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
				cols = append(cols, "CASE WHEN o.tags @> "+arg(pq.Array([]string{sk.tag}))+"::text[] THEN 'yes' ELSE 'no' END")
			}
		}
		hiddenRegion := want != noKeys && regionKey < 0
		if hiddenRegion {
			cols = append(cols, "o.region_code")
		}
		var inner, outer, groupBy strings.Builder
		for k, c := range cols {
			fmt.Fprintf(&inner, "%s AS k%d, ", c, k)
			fmt.Fprintf(&outer, "k%d, ", k)
		}
		if len(cols) > 0 {
			groupBy.WriteString("GROUP BY " + strings.TrimSuffix(outer.String(), ", "))
		}
		aggs := ""
		for why := range 4 {
			if want == allKeys || want == eligibleKeys && why == 0 {
				aggs += fmt.Sprintf(", string_agg(key, E'\\n') FILTER (WHERE reason = %d)", why)
			} else {
				aggs += ", NULL::text"
			}
		}
		// OFFSET 0 keeps the reason from being computed once per
		// aggregate.
		query := `
			SELECT ` + outer.String() + `count(*) FILTER (WHERE reason = 0)::int, count(*) FILTER (WHERE reason = 1)::int,
				count(*) FILTER (WHERE reason = 2)::int, count(*) FILTER (WHERE reason = 3)::int` + aggs + `
			FROM (
				SELECT o.key, ` + inner.String() + `CASE ` + reason + ` ELSE 0 END AS reason
				FROM objects o
				WHERE ` + where + `
				OFFSET 0
			) p ` + groupBy.String()
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("query population of item %s: %w", it.Code, err)
		}
		values := make([]string, len(cols))
		var counts [4]int
		var keys [4]sql.NullString
		dest := make([]any, 0, len(cols)+8)
		for k := range values {
			dest = append(dest, &values[k])
		}
		for why := range 4 {
			dest = append(dest, &counts[why])
		}
		for why := range 4 {
			dest = append(dest, &keys[why])
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read population of item %s: %w", it.Code, err)
			}
			if counts == [4]int{} {
				continue // no object at all, without strata keys
			}
			g := group{item: i, values: slices.Clone(values[:len(r.keys)]), counts: counts}
			switch {
			case hiddenRegion:
				g.region = values[len(r.keys)]
			case regionKey >= 0:
				g.region = values[regionKey]
			}
			for why := range 4 {
				g.keys[why] = keys[why].String
			}
			groups = append(groups, g)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read population of item %s: %w", it.Code, err)
		}
		rows.Close()
	}
	return groups, nil
}

// A population is what a freeze fixes: the object keys of each stratum
// and region, each stratum's quota rule, the exclusions, and for a joint
// draw the items that apply to each object to which more than one does.
type population struct {
	runs       []run
	size       int // number of objects
	quotas     map[string]draw.Quota
	exclusions Exclusions
	jointItems map[string][]string
}

// A cell is a stratum label and a region: the objects of a run.
type cell struct{ label, region string }

// buildPopulation turns the groups into the population. In a joint draw
// an object in scope of several items is one entry (one visit): it takes
// the label of the first item, in the rules' order, for which it is
// eligible, and is counted as excluded only when excluded for every item,
// under the first item's label and reason.
func buildPopulation(r *rules, groups []group, windowOn bool, now time.Time) *population {
	p := &population{quotas: map[string]draw.Quota{}}
	excluded := map[string]*Excluded{}
	exclude := func(label string, why reason, n int) {
		if n == 0 {
			return
		}
		e := excluded[label]
		if e == nil {
			e = &Excluded{}
			excluded[label] = e
		}
		e.add(why, n)
		p.exclusions.Total.add(why, n)
	}
	labelOf := func(g group) string {
		l := r.label(r.items[g.item], g.values)
		if _, ok := p.quotas[l]; !ok {
			p.quotas[l] = r.quotaFor(r.items[g.item], g.values)
		}
		return l
	}

	keys := map[cell][]string{}
	if len(r.items) == 1 {
		for _, g := range groups {
			label := labelOf(g)
			for why := recentlyInspected; why <= inOpenBatch; why++ {
				exclude(label, why, g.counts[why])
			}
			if g.counts[eligible] > 0 {
				// Parts of a shared scan may each have some of a cell.
				c := cell{label, g.region}
				keys[c] = append(keys[c], splitKeys(g.keys[eligible], g.counts[eligible])...)
			}
		}
	} else {
		keys = joinItems(r, groups, labelOf, exclude, p)
	}
	// A label made only for excluded objects has no stratum.
	present := map[string]bool{}
	for c := range keys {
		present[c.label] = true
	}
	for l := range p.quotas {
		if !present[l] {
			delete(p.quotas, l)
		}
	}
	p.runs = newRuns(keys)
	for _, r := range p.runs {
		p.size += len(r.keys)
	}

	if windowOn {
		p.exclusions.WindowFrom = windowFrom(now, *r.Exclusions.WindowDays).Format(time.DateOnly)
	}
	p.exclusions.Strata = []StratumExcluded{}
	for _, l := range slices.Sorted(maps.Keys(excluded)) {
		p.exclusions.Strata = append(p.exclusions.Strata, StratumExcluded{Label: l, Excluded: *excluded[l]})
	}
	return p
}

// joinItems deduplicates the objects of a joint draw and returns the keys
// of each cell.
func joinItems(r *rules, groups []group, labelOf func(group) string, exclude func(string, reason, int), p *population) map[cell][]string {
	type object struct {
		cell   cell
		reason reason
		items  []string // items that apply, when eligible
	}
	objects := map[string]*object{}
	var order []string
	// Groups come item by item, in the rules' order.
	for _, g := range groups {
		c := cell{labelOf(g), g.region}
		code := r.items[g.item].Code
		for why := eligible; why <= inOpenBatch; why++ {
			forEachKey(g.keys[why], func(key string) {
				o := objects[key]
				switch {
				case o == nil:
					o = &object{cell: c, reason: why}
					if why == eligible {
						o.items = []string{code}
					}
					objects[key] = o
					order = append(order, key)
				case why != eligible:
					// Eligible or excluded by an earlier item already.
				case o.reason != eligible:
					// Excluded by an earlier item, eligible for this one.
					o.cell, o.reason, o.items = c, eligible, []string{code}
				default:
					o.items = append(o.items, code)
				}
			})
		}
	}
	keys := map[cell][]string{}
	for _, key := range order {
		o := objects[key]
		if o.reason != eligible {
			exclude(o.cell.label, o.reason, 1)
			continue
		}
		keys[o.cell] = append(keys[o.cell], key)
		if len(o.items) > 1 {
			if p.jointItems == nil {
				p.jointItems = map[string][]string{}
			}
			p.jointItems[key] = o.items
		}
	}
	return keys
}

// splitKeys returns the n LF-separated keys of keys, substrings of it.
func splitKeys(keys string, n int) []string {
	out := make([]string, 0, n)
	forEachKey(keys, func(key string) { out = append(out, key) })
	return out
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

// A run is the keys of one stratum in one region, sorted bytewise: text is
// the stored form, each key followed by LF, and keys are substrings of
// text.
type run struct {
	label  string
	region string
	text   string
	keys   []string
	digest string // hex SHA-256 of text
}

// newRuns sorts the keys of each cell and lays each cell's keys out in one
// string, so that everything after reads memory in order; the cells are
// shared out among the processors. The runs are sorted by label and
// region.
func newRuns(keys map[cell][]string) []run {
	cells := slices.SortedFunc(maps.Keys(keys), func(a, b cell) int {
		return cmp.Or(strings.Compare(a.label, b.label), strings.Compare(a.region, b.region))
	})
	runs := make([]run, len(cells))
	parallel(len(cells), func(i int) {
		ks := keys[cells[i]]
		slices.Sort(ks)
		n := 0
		for _, k := range ks {
			n += len(k) + 1
		}
		var b strings.Builder
		b.Grow(n)
		for _, k := range ks {
			b.WriteString(k)
			b.WriteByte('\n')
		}
		// Point the keys into the new text, in place.
		text, at := b.String(), 0
		for j, k := range ks {
			ks[j] = text[at : at+len(k)]
			at += len(k) + 1
		}
		runs[i] = run{label: cells[i].label, region: cells[i].region, text: text, keys: ks, digest: digest(text)}
	})
	return runs
}

func digest(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// parseRun reads the stored form of a cell's n keys.
func parseRun(c cell, text string, n int) run {
	return run{label: c.label, region: c.region, text: text, keys: splitKeys(strings.TrimSuffix(text, "\n"), n)}
}

// parallel calls f(0) … f(n-1) on as many goroutines as there are
// processors.
func parallel(n int, f func(int)) {
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			f(i)
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// strata returns the strata of the runs under their quota rules, as
// [draw.Strata] would, without another pass over the entries.
func strata(runs []run, quotas map[string]draw.Quota) ([]draw.Stratum, error) {
	var out []draw.Stratum
	for _, r := range runs {
		if len(out) > 0 && out[len(out)-1].Label == r.label {
			out[len(out)-1].Population += len(r.keys)
			continue
		}
		out = append(out, draw.Stratum{Label: r.label, Population: len(r.keys)})
	}
	for i := range out {
		st := &out[i]
		q, ok := quotas[st.Label]
		if !ok {
			return nil, fmt.Errorf("stratum %s has no quota rule", st.Label)
		}
		n, err := q.Size(st.Population)
		if err != nil {
			return nil, fmt.Errorf("stratum %s: %w", st.Label, err)
		}
		st.Quota, st.Rule = n, &q
	}
	return out, nil
}

// loadPopulation reads a frozen population back: its runs, each checked
// against the digest taken at the freeze, and its entries, in canonical
// order if canonical is set, else run by run.
func loadPopulation(ctx context.Context, q sqlx.QueryerContext, batchID string, canonical bool) ([]run, []draw.Entry, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT stratum, region_code, size, keys, keys_sha256 FROM batch_population
		WHERE batch_id = $1 ORDER BY stratum COLLATE "C", region_code COLLATE "C"`, batchID)
	if err != nil {
		return nil, nil, fmt.Errorf("read population of batch %s: %w", batchID, err)
	}
	defer rows.Close()
	type stored struct {
		cell
		text, digest string
		size         int
	}
	var cells []stored
	total := 0
	for rows.Next() {
		var st stored
		if err := rows.Scan(&st.label, &st.region, &st.size, &st.text, &st.digest); err != nil {
			return nil, nil, fmt.Errorf("read population of batch %s: %w", batchID, err)
		}
		cells = append(cells, st)
		total += st.size
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read population of batch %s: %w", batchID, err)
	}
	runs := make([]run, len(cells))
	problems := make([]error, len(cells))
	parallel(len(cells), func(i int) {
		st := cells[i]
		if d := digest(st.text); d != st.digest {
			problems[i] = fmt.Errorf("population of batch %s, stratum %s, region %s: the stored keys hash to %s, not %s as at the freeze", batchID, st.label, st.region, d, st.digest)
			return
		}
		runs[i] = parseRun(st.cell, st.text, st.size)
		if len(runs[i].keys) != st.size {
			problems[i] = fmt.Errorf("population of batch %s, stratum %s, region %s: %d keys stored, size says %d", batchID, st.label, st.region, len(runs[i].keys), st.size)
		}
	})
	if err := errors.Join(problems...); err != nil {
		return nil, nil, err
	}
	if !canonical {
		return runs, concatRuns(runs, total), nil
	}
	return runs, mergeRuns(runs, total), nil
}

// regionsOf returns the region of each drawn entry: that of its run, found
// by binary search among the runs of its stratum.
func regionsOf(runs []run, drawn []draw.Entry) []string {
	byLabel := map[string][]*run{}
	for i := range runs {
		byLabel[runs[i].label] = append(byLabel[runs[i].label], &runs[i])
	}
	regions := make([]string, len(drawn))
	for i, e := range drawn {
		for _, r := range byLabel[e.Stratum] {
			if _, ok := slices.BinarySearch(r.keys, e.ObjectKey); ok {
				regions[i] = r.region
				break
			}
		}
	}
	return regions
}

// writePopulation stores the frozen population, one row per run.
func writePopulation(ctx context.Context, tx *sqlx.Tx, batchID string, p *population) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO batch_population (batch_id, stratum, region_code, size, keys, keys_sha256) VALUES ($1, $2, $3, $4, $5, $6)`)
	if err != nil {
		return fmt.Errorf("store population: %w", err)
	}
	defer stmt.Close()
	for _, r := range p.runs {
		if _, err := stmt.ExecContext(ctx, batchID, r.label, r.region, len(r.keys), r.text, r.digest); err != nil {
			return fmt.Errorf("store population stratum %s: %w", r.label, err)
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
