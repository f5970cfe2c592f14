// Package drawbench measures the draw of a batch over a million objects on
// PostgreSQL, end to end, against the common approach of one
// ORDER BY random() LIMIT n query per stratum. See README.md.
package drawbench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Size of the directory; SPOTCHECK_BENCH_OBJECTS overrides it for a quick
// run.
func objectCount() int {
	if n, err := strconv.Atoi(os.Getenv("SPOTCHECK_BENCH_OBJECTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

const itemCode = "BENCH-01"

// The 40 strata: 4 risk levels × 10 regions (the nine county-level units
// and the city's own objects, 市本级).
var (
	regions = []string{"330400", "330402", "330411", "330421", "330424", "330481", "330482", "330483", "JXJK", "JXGQ"}
	risks   = []string{"low", "normal", "raised", "high"}
	// The differentiated ratios of one province: high 30%, raised 10%,
	// normal 2%, low 1% (DOMAIN.md).
	ratios = map[string]string{"high": "0.3", "raised": "0.1", "normal": "0.02", "low": "0.01"}
)

var (
	loadOnce sync.Once
	loadErr  error
)

// load fills the directory once: objects of realistic shape (18-character
// credit codes in no particular physical order; risk levels 50% low, 35%
// normal, 10% raised, 5% high; every tenth inspected within the year; one
// in a thousand with an open follow-up) and a published item covering
// them all.
func load(b *testing.B, db *sqlx.DB) {
	loadOnce.Do(func() {
		start := time.Now()
		ctx := context.Background()
		conn, err := db.Connx(ctx)
		if err != nil {
			loadErr = err
			return
		}
		defer conn.Close()
		for _, q := range []string{
			// The change history of a bulk load is not what is measured.
			`SET session_replication_role = replica`,
			`SELECT setseed(0.27)`,
			`INSERT INTO objects (key, kind, name, region_code, risk_level, credit_class, last_inspected_at)
			SELECT '913304' || lpad(((i * 2654435761) % 4294967311)::text, 10, '0') || 'MA',
				'enterprise', '测试企业' || i,
				(ARRAY['330400','330402','330411','330421','330424','330481','330482','330483','JXJK','JXGQ'])[1 + floor(random() * 10)::int],
				CASE WHEN x < 0.50 THEN 'low' WHEN x < 0.85 THEN 'normal' WHEN x < 0.95 THEN 'raised' ELSE 'high' END,
				(ARRAY['A','B','C','D'])[1 + floor(random() * 4)::int],
				CASE WHEN i % 10 = 0 THEN current_date - (i % 300)::int END
			FROM (SELECT i, random() AS x FROM generate_series(1, ` + strconv.Itoa(objectCount()) + `) AS i) g`,
			`INSERT INTO object_follow_ups (object_key) SELECT key FROM objects WHERE id % 1000 = 7`,
			`SET session_replication_role = origin`,
			`INSERT INTO check_items (code, version, name, object_kind, methods, class, default_ratio, effective_from, published)
			VALUES ('` + itemCode + `', 1, '基准测试事项', 'enterprise', '{on_site}', 'general', '0.01', '2026-01-01', true)`,
			`VACUUM ANALYZE objects`,
			`CREATE TABLE baseline_drawn (batch_id text, position int, object_key text, stratum text, region_code text)`,
		} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				loadErr = fmt.Errorf("%s: %w", q, err)
				return
			}
		}
		b.Logf("loaded %d objects in %v", objectCount(), time.Since(start).Round(time.Millisecond))
	})
	if loadErr != nil {
		b.Fatal(loadErr)
	}
}

func rules() batch.Rules {
	var quotas []batch.QuotaRule
	for _, r := range []string{"high", "raised", "normal"} {
		quotas = append(quotas, batch.QuotaRule{When: map[string]string{"risk": r}, Ratio: ratios[r]})
	}
	quotas = append(quotas, batch.QuotaRule{Ratio: ratios["low"]})
	return batch.Rules{
		Items:      []batch.ItemRef{{Code: itemCode, Version: 1}},
		StrataKeys: []string{"risk", "region"},
		Quotas:     quotas,
	}
}

// BenchmarkDraw times, per iteration, Freeze and Draw of a new batch:
// read the eligible population from PostgreSQL (filter and exclusions
// applied in the query), label, sort and hash it, store it, then read it
// back, check its hash, draw, and store the drawn list and the proof. The
// baseline, timed in the same iteration, is the common approach: one
// query counting each stratum, then per stratum one
// ORDER BY random() LIMIT n query with the same filter and exclusions,
// and the drawn list stored. ns/op is ours alone.
func BenchmarkDraw(b *testing.B) {
	db := testenv.DB(b)
	load(b, db)
	s := batch.NewService(db)
	ctx := context.Background()

	var ours, freeze, base []time.Duration
	var loads []string
	stageTimes := map[string][]time.Duration{}
	var stageMu sync.Mutex
	record := func(stage string, d time.Duration) {
		stageMu.Lock()
		stageTimes[stage] = append(stageTimes[stage], d)
		stageMu.Unlock()
	}
	fmt.Printf("draw bench: load average before: %s; %d cores, %s; %s\n", loadAverage(), runtime.NumCPU(), cpuModel(),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	var peak int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		id := fmt.Sprintf("BENCH-%d-%d", time.Now().UnixNano(), i)
		if _, err := s.Create(ctx, batch.CreateRequest{ID: id, Rules: rules()}); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory()
		resetPeakRSS(b)
		// Peer and ours alternate which goes first (ABBA…), so that
		// neither always meets a warmer cache or a quieter machine.
		var n int
		if i%2 == 1 {
			t := time.Now()
			n = baseline(b, db, id)
			base = append(base, time.Since(t))
		}
		b.StartTimer()

		start := time.Now()
		sctx := batch.WithStages(ctx, record)
		frozen, err := s.Freeze(sctx, id)
		if err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		drawn, err := s.Draw(sctx, id, "bench-beacon")
		if err != nil {
			b.Fatal(err)
		}
		end := time.Now()

		b.StopTimer()
		peak = max(peak, peakRSS(b))
		ours = append(ours, end.Sub(start))
		freeze = append(freeze, mid.Sub(start))
		if len(frozen.Strata) != 40 {
			b.Fatalf("%d strata, want 40", len(frozen.Strata))
		}
		if i%2 == 0 {
			t := time.Now()
			n = baseline(b, db, id)
			base = append(base, time.Since(t))
		}
		loads = append(loads, loadAverage())
		fmt.Printf("draw bench: run %d: ours %v (freeze %v), baseline %v, load average %s\n", i+1, ours[i].Round(time.Millisecond),
			freeze[i].Round(time.Millisecond), base[i].Round(time.Millisecond), loads[i])
		if n != *drawn.DrawnCount {
			b.Fatalf("the baseline drew %d objects, ours %d", n, *drawn.DrawnCount)
		}
		// Archived, the batch's objects may be drawn again by the next.
		if _, err := db.Exec(`UPDATE batches SET state = 'archived', locked_at = now() WHERE id = $1`, id); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.Logf("population %d in %d strata, %d excluded, %d drawn", frozen.PopulationSize, len(frozen.Strata),
				frozen.Exclusions.Total.Total(), *drawn.DrawnCount)
		}
		b.StartTimer()
	}
	b.StopTimer()
	o, f, bl := median(ours), median(freeze), median(base)
	b.ReportMetric(bl.Seconds(), "baseline-s")
	b.ReportMetric(o.Seconds(), "ours-s")
	b.ReportMetric(bl.Seconds()/o.Seconds(), "speedup")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
	ratios := make([]time.Duration, len(ours)) // per run, in thousandths
	for k := range ours {
		ratios[k] = time.Duration(1000 * base[k].Seconds() / ours[k].Seconds())
	}
	r := float64(median(ratios)) / 1000
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	// The summary goes to standard output: go test keeps only the first
	// lines of a benchmark's log.
	summary := func(format string, args ...any) { fmt.Printf("draw bench: "+format+"\n", args...) }
	summary("%d objects, 40 strata, %d runs interleaved with the peer, load average during: %s", objectCount(), len(ours), strings.Join(loads, " | "))
	summary("ours     median %v (spread %v–%v)   goal median < 1.0 s: %s", o.Round(time.Millisecond),
		slices.Min(ours).Round(time.Millisecond), slices.Max(ours).Round(time.Millisecond), met(o < time.Second))
	summary("baseline median %v (spread %v–%v)   ORDER BY random() per stratum", bl.Round(time.Millisecond),
		slices.Min(base).Round(time.Millisecond), slices.Max(base).Round(time.Millisecond))
	summary("ratio    median %.1f× (spread %.1f×–%.1f×)   goal >= 6×: %s", r,
		float64(slices.Min(ratios))/1000, float64(slices.Max(ratios))/1000, met(r >= 6))
	summary("stages (median, spread): freeze %v = %s; draw %v = %s", f.Round(time.Millisecond),
		stageLine(stageTimes, "freeze.scan", "freeze.sort", "freeze.store+hash"), (o - f).Round(time.Millisecond),
		stageLine(stageTimes, "read", "hash", "select", "proof", "write"))
	summary("peak RSS %.0f MB (VmHWM of this process, reset before each freeze)", float64(peak)/(1<<20))
}

// stageLine prints the median and spread of each stage.
func stageLine(times map[string][]time.Duration, names ...string) string {
	var parts []string
	for _, n := range names {
		d := times[n]
		if len(d) == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %v (%v–%v)", n, median(d).Round(time.Millisecond),
			slices.Min(d).Round(time.Millisecond), slices.Max(d).Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

// cpuModel is the first model name of /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return "?"
}

// baseline draws batch id's strata the common way and returns the number
// of objects drawn.
func baseline(b *testing.B, db *sqlx.DB, id string) int {
	ctx := context.Background()
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	const where = `o.kind = 'enterprise' AND o.status = 'active'
		AND NOT (o.last_inspected_at IS NOT NULL AND o.last_inspected_at > current_date - 365 AND o.risk_level <> 'high')
		AND NOT EXISTS (SELECT 1 FROM object_follow_ups f WHERE f.object_key = o.key AND f.closed_at IS NULL)
		AND NOT EXISTS (SELECT 1 FROM batch_objects bo JOIN batches bt ON bt.id = bo.batch_id
			WHERE bo.object_key = o.key AND bt.state NOT IN ('archived', 'cancelled') AND bt.id <> $1)`
	counts := map[string]int{}
	rows, err := tx.QueryContext(ctx, `SELECT o.risk_level, o.region_code, count(*) FROM objects o WHERE `+where+` GROUP BY 1, 2`, id)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var risk, region string
		var n int
		if err := rows.Scan(&risk, &region, &n); err != nil {
			b.Fatal(err)
		}
		counts[risk+"|"+region] = n
	}
	rows.Close()
	var keys, strata, regs []string
	for _, risk := range risks {
		for _, region := range regions {
			n := counts[risk+"|"+region]
			quota := ceilRatio(ratios[risk], n)
			rows, err := tx.QueryContext(ctx, `SELECT o.key, o.region_code FROM objects o
				WHERE `+where+` AND o.risk_level = $2 AND o.region_code = $3 ORDER BY random() LIMIT $4`,
				id, risk, region, quota)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var k, r string
				if err := rows.Scan(&k, &r); err != nil {
					b.Fatal(err)
				}
				keys, regs = append(keys, k), append(regs, r)
				strata = append(strata, "risk="+risk+";region="+region)
			}
			rows.Close()
		}
	}
	pos := make([]int64, len(keys))
	for i := range pos {
		pos[i] = int64(i + 1)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO baseline_drawn SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[])`,
		id, pq.Array(pos), pq.Array(keys), pq.Array(strata), pq.Array(regs)); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return len(keys)
}

// ceilRatio is ceil(ratio × n) for the benchmark's ratios (two decimals).
func ceilRatio(ratio string, n int) int {
	hundredths, _ := strconv.Atoi(strings.TrimPrefix(ratio, "0.") + strings.Repeat("0", 4-len(ratio)))
	return (hundredths*n + 99) / 100
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// resetPeakRSS resets the kernel's record of this process's peak resident
// set size (VmHWM), so that the next reading covers only what follows.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS: %v", err)
	}
}

// peakRSS returns VmHWM from /proc/self/status, in bytes.
func peakRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
