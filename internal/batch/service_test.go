package batch

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// simpleBatch stores an item and n objects of it spread over risks and
// regions, and returns a request drawing 50% of each risk × region
// stratum.
func simpleBatch(f *fixture, n int) CreateRequest {
	code := f.item("ZR", 1, "general", "0.05")
	risks := []string{"low", "normal", "raised", "high"}
	regions := []string{"330402", "330411", "330421"}
	var objs []obj
	for i, k := range f.keys("91", n) {
		objs = append(objs, obj{key: k, risk: risks[i%4], region: regions[i%3]})
	}
	f.objects(objs, code)
	return CreateRequest{
		ID:   f.id("2026-ZR"),
		Name: "2026年第一批",
		Rules: Rules{
			Items:      []ItemRef{{Code: code, Version: 1}},
			StrataKeys: []string{"risk", "region"},
			Quotas:     []QuotaRule{{Ratio: "0.5"}},
		},
		Actor: "coordinator:zhang",
	}
}

func TestDrawSequence(t *testing.T) {
	f := newFixture(t)
	req := simpleBatch(f, 120)

	b, err := f.s.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if b.State != Committed || len(b.Commitment) != 64 || b.CommittedAt.IsZero() || b.CreatedBy != "coordinator:zhang" {
		t.Fatalf("created %+v", b)
	}
	var nonce []byte
	if err := f.db.Get(&nonce, `SELECT nonce FROM batch_secrets WHERE batch_id = $1`, req.ID); err != nil {
		t.Fatal(err)
	}
	if draw.Commitment(nonce) != b.Commitment {
		t.Fatal("the commitment is not the stored nonce's")
	}
	secret := hex.EncodeToString(nonce)
	noSecret := func(step string, v any) {
		t.Helper()
		j, _ := json.Marshal(v)
		if strings.Contains(string(j), secret) {
			t.Fatalf("%s: the nonce is served before the draw", step)
		}
	}
	noSecret("create", b)
	if _, err := f.s.Proof(ctx, req.ID); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("proof before the draw: %v", err)
	}
	if err := f.s.WritePopulation(ctx, req.ID, &bytes.Buffer{}); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("population before the freeze: %v", err)
	}
	if _, err := f.s.Draw(ctx, req.ID, "x"); fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "must be frozen") {
		t.Fatalf("draw before the freeze: %v", err)
	}
	if _, err := f.s.Lock(ctx, req.ID); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("lock before the draw: %v", err)
	}

	frozen, err := f.s.Freeze(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if frozen.State != Frozen || frozen.PopulationSize != 120 || len(frozen.Strata) != 12 || frozen.FrozenAt == nil {
		t.Fatalf("frozen %+v", frozen)
	}
	for _, st := range frozen.Strata {
		if st.Population != 10 || st.Quota != 5 || st.Rule == nil || st.Rule.Ratio != "0.5" {
			t.Fatalf("stratum %+v", st)
		}
	}
	noSecret("freeze", frozen)
	again, err := f.s.Freeze(ctx, req.ID)
	if err != nil || again.PopulationHash != frozen.PopulationHash || again.Version != frozen.Version {
		t.Fatalf("second freeze: %v, %+v", err, again)
	}
	// The directory changing after the freeze changes nothing drawn.
	f.exec(`UPDATE objects SET risk_level = 'high' WHERE key LIKE $1`, "91"+f.sfx+"%")

	if _, err := f.s.Draw(ctx, req.ID, "bad\tbeacon"); fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), "beacon") {
		t.Fatalf("beacon with a TAB: %v", err)
	}
	drawn, err := f.s.Draw(ctx, req.ID, "witness-a|witness-b")
	if err != nil {
		t.Fatal(err)
	}
	if drawn.State != Drawn || *drawn.DrawnCount != 60 || *drawn.Beacon != "witness-a|witness-b" || drawn.Seed == "" {
		t.Fatalf("drawn %+v", drawn)
	}
	if !(!drawn.FrozenAt.Before(drawn.CommittedAt) && !drawn.DrawnAt.Before(*drawn.FrozenAt)) {
		t.Fatalf("times out of order: %v %v %v", drawn.CommittedAt, drawn.FrozenAt, drawn.DrawnAt)
	}
	proof1, err := f.s.Proof(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(proof1), secret) {
		t.Fatal("the proof does not reveal the nonce")
	}
	// Drawing again with the same beacon is the same draw.
	if again, err := f.s.Draw(ctx, req.ID, "witness-a|witness-b"); err != nil || again.Seed != drawn.Seed || again.Version != drawn.Version {
		t.Fatalf("repeated draw: %v %+v", err, again)
	}
	proof2, _ := f.s.Proof(ctx, req.ID)
	if !bytes.Equal(proof1, proof2) {
		t.Fatal("the proof changed")
	}
	if _, err := f.s.Draw(ctx, req.ID, "another"); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("draw with another beacon: %v", err)
	}

	var pop bytes.Buffer
	if err := f.s.WritePopulation(ctx, req.ID, &pop); err != nil {
		t.Fatal(err)
	}
	if int64(pop.Len()) != drawn.PopulationBytes || strings.Contains(pop.String(), "risk=high;region=330402\n"+"91") && false {
		t.Fatalf("population of %d bytes, batch says %d", pop.Len(), drawn.PopulationBytes)
	}
	var proof PublicProof
	if err := json.Unmarshal(proof1, &proof); err != nil {
		t.Fatal(err)
	}
	if err := draw.Verify(proof.Proof, bytes.NewReader(pop.Bytes())); err != nil {
		t.Fatalf("the proof does not verify: %v", err)
	}
	if proof.Name != req.Name || len(proof.Rules.Items) != 1 || *proof.Rules.Exclusions.WindowDays != DefaultWindowDays {
		t.Fatalf("proof extras: %s %+v", proof.Name, proof.Rules)
	}
	// A changed drawn list does not verify.
	proof.Drawn[3].ObjectKey = proof.Drawn[4].ObjectKey
	if err := draw.Verify(proof.Proof, bytes.NewReader(pop.Bytes())); err == nil {
		t.Fatal("a forged proof verifies")
	}

	counts, err := f.s.Lock(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range counts {
		if !slices.Contains([]string{"330402", "330411", "330421"}, c.CountyCode) || c.CountyName == "" {
			t.Errorf("county %+v", c)
		}
		total += c.Objects
	}
	if len(counts) != 3 || total != 60 {
		t.Fatalf("counts %+v", counts)
	}
	if again, err := f.s.Lock(ctx, req.ID); err != nil || !slices.Equal(again, counts) {
		t.Fatalf("second lock: %v %+v", err, again)
	}
	// The batch is complete at the lock: one task row per drawn object, in
	// its county, awaiting the match.
	var tasks []struct {
		County string `db:"county_code"`
		Stage  string `db:"stage"`
		N      int    `db:"n"`
	}
	if err := f.db.SelectContext(ctx, &tasks, `SELECT county_code, stage, count(*) AS n FROM tasks WHERE batch_id = $1 GROUP BY 1, 2 ORDER BY 1`, req.ID); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != len(counts) {
		t.Fatalf("tasks at the lock %+v, counties %+v", tasks, counts)
	}
	for i, c := range counts {
		if tasks[i].County != c.CountyCode || tasks[i].Stage != "awaiting_match" || tasks[i].N != c.Objects {
			t.Errorf("tasks of %s at the lock: %+v, want %d awaiting_match", c.CountyCode, tasks[i], c.Objects)
		}
	}
	_, err = f.s.Draw(ctx, req.ID, "witness-a|witness-b")
	wantFault(t, err, fault.Conflict, "", "is locked; a new draw needs a new batch")
	if _, err := f.s.Freeze(ctx, req.ID); err != nil {
		t.Fatalf("freeze of a locked batch: %v", err)
	}
	locked, err := f.s.Get(ctx, req.ID)
	if err != nil || locked.State != Locked || len(locked.Counties) != 3 || locked.LockedAt == nil {
		t.Fatalf("locked: %v %+v", err, locked)
	}
	proof3, _ := f.s.Proof(ctx, req.ID)
	if !bytes.Equal(proof1, proof3) {
		t.Fatal("the proof changed at lock")
	}
	// Each step is in the audit trail once, repeated calls included.
	var steps []string
	if err := f.db.Select(&steps, `SELECT action FROM audit_log WHERE entity = 'batch' AND entity_id = $1 ORDER BY seq`, req.ID); err != nil {
		t.Fatal(err)
	}
	if strings.Join(steps, ",") != "draw.commit,draw.frozen,draw.drawn,draw.locked" {
		t.Errorf("audit trail of the draw = %v", steps)
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	f := newFixture(t)
	req := simpleBatch(f, 8)
	a, err := f.s.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.s.Create(ctx, req)
	if err != nil || b.Commitment != a.Commitment || b.Version != a.Version {
		t.Fatalf("second create: %v %+v", err, b)
	}
	// Spelling a default out is the same request.
	same := req
	same.Rules.Exclusions.WindowDays = ptr(DefaultWindowDays)
	if _, err := f.s.Create(ctx, same); err != nil {
		t.Fatalf("create with the default spelt out: %v", err)
	}
	other := req
	other.Rules.Quotas = []QuotaRule{{Ratio: "0.2"}}
	_, err = f.s.Create(ctx, other)
	wantFault(t, err, fault.Conflict, "", "already exists")

	// Concurrent creates of one new batch make one batch.
	req.ID = f.id("concurrent")
	var wg sync.WaitGroup
	commitments := make([]string, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() {
			b, err := f.s.Create(ctx, req)
			commitments[i], errs[i] = b.Commitment, err
		})
	}
	wg.Wait()
	for i := range 4 {
		if errs[i] != nil || commitments[i] != commitments[0] {
			t.Fatalf("concurrent create %d: %v %s %s", i, errs[i], commitments[i], commitments[0])
		}
	}
}

func TestConcurrentDrawsDrawOnce(t *testing.T) {
	f := newFixture(t)
	req := simpleBatch(f, 40)
	if _, err := f.s.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Freeze(ctx, req.ID); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() { _, errs[i] = f.s.Draw(ctx, req.ID, fmt.Sprintf("beacon-%d", i)) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case fault.KindOf(err) != fault.Conflict:
			t.Fatalf("concurrent draw: %v", err)
		}
	}
	if ok != 1 || f.count(`SELECT count(*) FROM batch_objects WHERE batch_id = $1`, req.ID) != f.count(`SELECT drawn_count FROM batches WHERE id = $1`, req.ID) {
		t.Fatalf("%d draws succeeded: %v", ok, errs)
	}
}

func TestBadRulesAreRefusedAndNothingStored(t *testing.T) {
	f := newFixture(t)
	good := simpleBatch(f, 8)
	code := good.Rules.Items[0].Code
	unpublished := f.itemKind("DRAFT", 1, "enterprise", "general", "0.05", false)
	cases := []struct {
		name  string
		edit  func(r *CreateRequest)
		field string
		text  string
	}{
		{"ratio abc", func(r *CreateRequest) { r.Rules.Quotas = []QuotaRule{{Ratio: "abc"}} }, "rules.quotas[0].ratio", "not a decimal"},
		{"ratio negative", func(r *CreateRequest) {
			r.Rules.Quotas = []QuotaRule{{When: map[string]string{"risk": "high"}, Ratio: "0.3"}, {Ratio: "-0.1"}}
		}, "rules.quotas[1].ratio", "negative"},
		{"ratio above 1", func(r *CreateRequest) { r.Rules.Quotas = []QuotaRule{{Ratio: "1.5"}} }, "rules.quotas[0].ratio", "above 1"},
		{"count and ratio", func(r *CreateRequest) { r.Rules.Quotas = []QuotaRule{{Ratio: "0.5", Count: ptr(3)}} }, "rules.quotas[0]", "both"},
		{"min with count", func(r *CreateRequest) { r.Rules.Quotas = []QuotaRule{{Count: ptr(3), Min: 1}} }, "rules.quotas[0].min", "only allowed with a ratio"},
		{"default not last", func(r *CreateRequest) {
			r.Rules.Quotas = []QuotaRule{{Ratio: "0.1"}, {When: map[string]string{"risk": "高"}, Ratio: "0.3"}}
		}, "rules.quotas[0].when", "move it last"},
		{"unknown stratum key", func(r *CreateRequest) { r.Rules.StrataKeys = []string{"risk", "size"} }, "rules.strata_keys[1]", `"size" is not a stratum key`},
		{"duplicate stratum key", func(r *CreateRequest) { r.Rules.StrataKeys = []string{"risk", "risk"} }, "rules.strata_keys[1]", "twice"},
		{"tag key with separator", func(r *CreateRequest) { r.Rules.StrataKeys = []string{"tag:a;b"} }, "rules.strata_keys[0]", "separators"},
		{"when on a non-key", func(r *CreateRequest) {
			r.Rules.Quotas = []QuotaRule{{When: map[string]string{"credit": "D"}, Ratio: "0.1"}}
		}, "rules.quotas[0].when.credit", "not a stratum key"},
		{"when value", func(r *CreateRequest) {
			r.Rules.Quotas = []QuotaRule{{When: map[string]string{"risk": "extreme"}, Ratio: "0.1"}}
		}, "rules.quotas[0].when.risk", "not a risk level"},
		{"when region", func(r *CreateRequest) {
			r.Rules.Quotas = []QuotaRule{{When: map[string]string{"region": "999999"}, Ratio: "0.1"}}
		}, "rules.quotas[0].when.region", "not a region"},
		{"general item above its cap", func(r *CreateRequest) {
			r.Rules.Quotas = []QuotaRule{{When: map[string]string{"item": code}, Ratio: "0.9"}}
		}, "rules.quotas[0].ratio", "above the cap of general items"},
		{"no items", func(r *CreateRequest) { r.Rules.Items = nil }, "rules.items", "at least one"},
		{"missing version", func(r *CreateRequest) { r.Rules.Items = []ItemRef{{Code: code, Version: 9}} }, "rules.items[0].version", "has no version 9"},
		{"unpublished", func(r *CreateRequest) { r.Rules.Items = []ItemRef{{Code: unpublished, Version: 1}} }, "rules.items[0].version", "not published"},
		{"filter kind", func(r *CreateRequest) { r.Rules.Filter.Kinds = []string{"planet"} }, "rules.filter.kinds[0]", "not an object kind"},
		{"filter kind excludes all", func(r *CreateRequest) { r.Rules.Filter.Kinds = []string{"项目"} }, "rules.filter.kinds", "every item"},
		{"filter region", func(r *CreateRequest) { r.Rules.Filter.Regions = []string{"火星"} }, "rules.filter.regions[0]", "not a region"},
		{"window", func(r *CreateRequest) { r.Rules.Exclusions.WindowDays = ptr(-1) }, "rules.exclusions.window_days", "from 0"},
		{"bad id", func(r *CreateRequest) { r.ID = "2026 ZR/1" }, "id", "not a batch ID"},
		{"empty population", func(r *CreateRequest) { r.Rules.Filter.Regions = []string{"嘉兴港区"} }, "rules.filter", "the population is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := good
			req.Rules.Quotas = slices.Clone(good.Rules.Quotas)
			req.ID = f.id(strings.ReplaceAll(c.name, " ", "-"))
			c.edit(&req)
			_, err := f.s.Create(ctx, req)
			wantFault(t, err, fault.Invalid, c.field, c.text)
			if n := f.count(`SELECT count(*) FROM batches WHERE id = $1`, req.ID); n != 0 {
				t.Fatal("a refused batch was stored")
			}
		})
	}
	// Every problem is reported at once.
	req := good
	req.ID = f.id("many")
	req.Rules.StrataKeys = []string{"colour"}
	req.Rules.Quotas = []QuotaRule{{Ratio: "abc"}}
	_, err := f.s.Create(ctx, req)
	if e, ok := fault.As(err); !ok || len(e.Problems) != 2 {
		t.Fatalf("want 2 problems: %v", err)
	}
	if _, err := f.s.Create(ctx, good); err != nil {
		t.Fatalf("the good request: %v", err)
	}
}

// The differentiated ratios of the regulation: by risk level and credit
// class, first matching rule wins, the item's default ratio without a
// default rule.
func TestQuotaRules(t *testing.T) {
	f := newFixture(t)
	code := f.item("ZR", 1, "general", "0.25")
	var objs []obj
	for i, k := range f.keys("92", 160) {
		objs = append(objs, obj{key: k, risk: []string{"low", "high"}[i%2], credit: []string{"A", "B", "C", "D"}[i/2%4]})
	}
	f.objects(objs, code)
	rules := Rules{
		Items:      []ItemRef{{Code: code, Version: 1}},
		StrataKeys: []string{"risk", "credit"},
		Quotas: []QuotaRule{
			{When: map[string]string{"risk": "高风险"}, Ratio: "0.3"},
			{When: map[string]string{"credit": "D"}, Ratio: "0.01", Min: 2},
			{When: map[string]string{"credit": "A", "item": code}, Count: ptr(1)},
		},
	}
	sim, err := f.s.Simulate(ctx, rules)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{ // 20 objects per stratum
		"risk=high;credit=A": 6, "risk=high;credit=B": 6, "risk=high;credit=C": 6, "risk=high;credit=D": 6,
		"risk=low;credit=A": 1, "risk=low;credit=B": 5, "risk=low;credit=C": 5, "risk=low;credit=D": 2,
	}
	if len(sim.Strata) != len(want) || sim.Population != 160 {
		t.Fatalf("simulation %+v", sim)
	}
	for _, st := range sim.Strata {
		label := strings.TrimPrefix(st.Label, "item="+code+";")
		if st.Population != 20 || st.Quota != want[label] {
			t.Errorf("%s: %d of %d, want %d of 20", st.Label, st.Quota, st.Population, want[label])
		}
	}
	if sim.Quota != 37 {
		t.Errorf("total quota %d", sim.Quota)
	}
}

func TestExclusions(t *testing.T) {
	f := newFixture(t)
	general := f.item("GEN", 1, "general", "1")
	key := f.item("KEY", 1, "key", "1")
	k := f.keys("93", 12)
	f.objects([]obj{
		{key: k[0]},                                     // eligible
		{key: k[1], inspectedDaysAgo: 30},               // recently inspected
		{key: k[2], inspectedDaysAgo: 400},              // outside the window
		{key: k[3], inspectedDaysAgo: 30, risk: "high"}, // high risk: window not applied
		{key: k[4]},                   // open follow-up
		{key: k[5]},                   // closed follow-up
		{key: k[6]},                   // drawn in another open batch of the item
		{key: k[7]},                   // drawn in an archived batch of the item
		{key: k[8], status: "closed"}, // not active: not in scope at all
		{key: k[9], kind: "project"},  // another kind: not in scope
	}, general, key)
	f.exec(`INSERT INTO object_follow_ups (object_key, opened_at, closed_at) VALUES ($1, now(), NULL), ($2, now() - interval '9 days', now())`, k[4], k[5])
	// Earlier batches that drew k[6] (open) and k[7] (archived).
	for i, st := range []string{"locked", "archived"} {
		id := f.id(fmt.Sprintf("old-%d", i))
		f.exec(`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, frozen_at, population_hash, strata, drawn_at, proof, beacon, locked_at, created_by)
			VALUES ($1, $2, '{}', '', repeat('0', 64), now(), now(), repeat('0', 64), '[]', now(), '{}', '', now(), 'test')`, id, st)
		f.exec(`INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes) VALUES ($1, 1, $2, 'x', ARRAY[$3, 'OTHER'])`, id, k[6+i], general)
	}

	rules := func(code string, ex ExclusionRules) Rules {
		return Rules{Items: []ItemRef{{Code: code, Version: 1}}, StrataKeys: []string{"risk"}, Exclusions: ex}
	}
	cases := []struct {
		name     string
		rules    Rules
		eligible []string
		excluded Excluded
	}{
		{"general item", rules(general, ExclusionRules{}), []string{k[0], k[2], k[3], k[5], k[7]}, Excluded{1, 1, 1}},
		{"window on high risk", rules(general, ExclusionRules{ApplyWindowToHighRisk: true}), []string{k[0], k[2], k[5], k[7]}, Excluded{2, 1, 1}},
		{"short window", rules(general, ExclusionRules{WindowDays: ptr(20)}), []string{k[0], k[1], k[2], k[3], k[5], k[7]}, Excluded{0, 1, 1}},
		{"no window", rules(general, ExclusionRules{WindowDays: ptr(0)}), []string{k[0], k[1], k[2], k[3], k[5], k[7]}, Excluded{0, 1, 1}},
		// k[6] was drawn for the general item, not this one.
		{"key item", rules(key, ExclusionRules{}), []string{k[0], k[1], k[2], k[3], k[5], k[6], k[7]}, Excluded{0, 1, 0}},
		{"window on key items", rules(key, ExclusionRules{ApplyWindowToKeyItems: true}), []string{k[0], k[2], k[3], k[5], k[6], k[7]}, Excluded{1, 1, 0}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, err := f.s.Simulate(ctx, c.rules)
			if err != nil {
				t.Fatal(err)
			}
			if sim.Population != len(c.eligible) || sim.Excluded != c.excluded {
				t.Fatalf("simulation: population %d excluded %+v, want %d %+v", sim.Population, sim.Excluded, len(c.eligible), c.excluded)
			}
			id := f.id(fmt.Sprintf("ex-%d", i))
			if _, err := f.s.Create(ctx, CreateRequest{ID: id, Rules: c.rules}); err != nil {
				t.Fatal(err)
			}
			b, err := f.s.Freeze(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if b.Exclusions.Total != c.excluded || b.PopulationSize != len(c.eligible) {
				t.Fatalf("freeze: excluded %+v population %d", b.Exclusions.Total, b.PopulationSize)
			}
			var pop bytes.Buffer
			if err := f.s.WritePopulation(ctx, id, &pop); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, line := range strings.Split(strings.TrimSuffix(pop.String(), "\n"), "\n") {
				keys = append(keys, strings.Split(line, "\t")[0])
			}
			if !slices.Equal(keys, c.eligible) {
				t.Fatalf("population %v, want %v", keys, c.eligible)
			}
			if _, err := f.s.Draw(ctx, id, ""); err != nil {
				t.Fatal(err)
			}
			raw, _ := f.s.Proof(ctx, id)
			var proof PublicProof
			json.Unmarshal(raw, &proof)
			if proof.Exclusions.Total != c.excluded {
				t.Fatalf("proof exclusions %+v", proof.Exclusions)
			}
			perStratum := Excluded{}
			for _, st := range proof.Exclusions.Strata {
				perStratum.RecentlyInspected += st.RecentlyInspected
				perStratum.OpenFollowUp += st.OpenFollowUp
				perStratum.InOpenBatch += st.InOpenBatch
			}
			if perStratum != c.excluded {
				t.Fatalf("per-stratum exclusions %+v", proof.Exclusions.Strata)
			}
			// Done with: its drawn objects must not count as drawn in an
			// open batch for the next case.
			f.exec(`UPDATE batches SET state = 'archived', locked_at = now() WHERE id = $1`, id)
		})
	}
}

// A joint draw over two departments' items: an object both apply to is
// one entry (one visit) labelled with the first item, and its drawn line
// lists both items.
func TestJointDraw(t *testing.T) {
	f := newFixture(t)
	a := f.item("A", 1, "general", "1")
	b := f.item("B", 1, "general", "1")
	k := f.keys("94", 6)
	f.objects([]obj{{key: k[0]}, {key: k[1]}}, a)
	f.objects([]obj{{key: k[2]}, {key: k[3]}, {key: k[4], inspectedDaysAgo: 10}}, a, b)
	f.objects([]obj{{key: k[5]}}, b)
	// k[4] is excluded for A and B (a recent inspection) but not for BK,
	// a key item: no window.
	bKey := f.item("BK", 1, "key", "1")
	f.exec(`UPDATE objects SET tags = tags || ARRAY[$1] WHERE key = $2`, bKey, k[4])

	req := CreateRequest{ID: f.id("joint"), Rules: Rules{
		Items:      []ItemRef{{Code: a, Version: 1}, {Code: bKey, Version: 1}, {Code: b, Version: 1}},
		StrataKeys: []string{"region"},
	}}
	sim, err := f.s.Simulate(ctx, req.Rules)
	if err != nil {
		t.Fatal(err)
	}
	if sim.Population != 6 || sim.Excluded.Total() != 0 {
		t.Fatalf("simulation %+v", sim)
	}
	if _, err := f.s.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	frozen, err := f.s.Freeze(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantStrata := map[string]int{"item=" + a + ";region=330402": 4, "item=" + bKey + ";region=330402": 1, "item=" + b + ";region=330402": 1}
	if len(frozen.Strata) != 3 {
		t.Fatalf("strata %+v", frozen.Strata)
	}
	for _, st := range frozen.Strata {
		if wantStrata[st.Label] != st.Population {
			t.Fatalf("stratum %+v", st)
		}
	}
	if _, err := f.s.Draw(ctx, req.ID, "b"); err != nil {
		t.Fatal(err)
	}
	objects, _, err := f.s.Drawn(ctx, req.ID, "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	items := map[string][]string{}
	for _, o := range objects {
		items[o.ObjectKey] = o.ItemCodes
	}
	want := map[string][]string{
		k[0]: {a}, k[1]: {a}, k[2]: {a, b}, k[3]: {a, b}, k[4]: {bKey}, k[5]: {b},
	}
	for key, w := range want {
		if !slices.Equal(items[key], w) {
			t.Errorf("%s: items %v, want %v", key, items[key], w)
		}
	}
}

func TestTagStrataAndCounties(t *testing.T) {
	f := newFixture(t)
	code := f.item("ZR", 1, "general", "1")
	town := "T" + f.sfx
	f.exec(`INSERT INTO regions (code, name, parent_code) VALUES ($1, $2, '330402')`, town, "测试街道"+f.sfx)
	k := f.keys("95", 5)
	f.objects([]obj{{key: k[0], region: town, tags: []string{"mining"}}, {key: k[1], region: town}, {key: k[2], region: "JXGQ"}}, code)
	f.objects([]obj{{key: k[3], region: "330400"}, {key: k[4], region: "330483", tags: []string{"mining"}}}, code)
	req := CreateRequest{ID: f.id("tags"), Rules: Rules{
		Items:      []ItemRef{{Code: code, Version: 1}},
		StrataKeys: []string{"tag:mining"},
		Filter:     Filter{Regions: []string{"南湖区", "JXGQ", "330400"}},
	}}
	if _, err := f.s.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	b, err := f.s.Freeze(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	// 330400 lists the city: its direct children, the county of k[4],
	// are in too.
	if len(b.Strata) != 2 || b.Strata[0].Label != "item="+code+";tag:mining=no" || b.Strata[0].Population != 3 || b.Strata[1].Population != 2 {
		t.Fatalf("strata %+v", b.Strata)
	}
	if _, err := f.s.Draw(ctx, req.ID, ""); err != nil {
		t.Fatal(err)
	}
	counts, err := f.s.Lock(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range counts {
		got[c.CountyCode] = c.Objects
	}
	want := map[string]int{"330402": 2, "JXGQ": 1, "330400": 1, "330483": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counties %v, want %v", got, want)
	}
	list, next, err := f.s.Drawn(ctx, req.ID, "330402", "", 1)
	if err != nil || len(list) != 1 || next == "" || list[0].CountyCode != "330402" || list[0].RegionCode != town {
		t.Fatalf("page 1: %v %+v %q", err, list, next)
	}
	list2, next2, err := f.s.Drawn(ctx, req.ID, "330402", next, 1)
	if err != nil || len(list2) != 1 || next2 != "" || list2[0].Position <= list[0].Position {
		t.Fatalf("page 2: %v %+v %q", err, list2, next2)
	}
	if _, _, err := f.s.Drawn(ctx, req.ID, "nowhere", "", 1); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("unknown county: %v", err)
	}
}

func TestSimulateWritesNothing(t *testing.T) {
	f := newFixture(t)
	req := simpleBatch(f, 24)
	before := f.count(`SELECT (SELECT count(*) FROM batches) + (SELECT count(*) FROM batch_population) + (SELECT count(*) FROM batch_objects)`)
	sim, err := f.s.Simulate(ctx, req.Rules)
	if err != nil {
		t.Fatal(err)
	}
	if sim.Population != 24 || len(sim.Strata) != 12 || sim.Quota != 12 || sim.WindowFrom == "" {
		t.Fatalf("simulation %+v", sim)
	}
	after := f.count(`SELECT (SELECT count(*) FROM batches) + (SELECT count(*) FROM batch_population) + (SELECT count(*) FROM batch_objects)`)
	if before != after {
		t.Fatal("the simulation wrote")
	}
	req.Rules.Filter.Regions = []string{"JXJK"}
	sim, err = f.s.Simulate(ctx, req.Rules)
	if err != nil || sim.Population != 0 || len(sim.Warnings) != 1 {
		t.Fatalf("empty simulation: %v %+v", err, sim)
	}
	_, err = f.s.Simulate(ctx, Rules{Items: []ItemRef{{Code: "x", Version: 1}}, Quotas: []QuotaRule{{Ratio: "1.5"}}})
	wantFault(t, err, fault.Invalid, "rules.quotas[0].ratio", "above 1")
}

func TestStateMachine(t *testing.T) {
	allowed := [][2]State{{Committed, Frozen}, {Frozen, Drawn}, {Drawn, Locked}}
	states := []State{Committed, Frozen, Drawn, Locked, Archived, Cancelled}
	for _, from := range states {
		for _, to := range states {
			if got, want := CanTransition(from, to), slices.Contains(allowed, [2]State{from, to}); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	for name, call := range map[string]func() error{
		"get":    func() error { _, err := f.s.Get(ctx, "nope"); return err },
		"freeze": func() error { _, err := f.s.Freeze(ctx, "nope"); return err },
		"draw":   func() error { _, err := f.s.Draw(ctx, "nope", ""); return err },
		"lock":   func() error { _, err := f.s.Lock(ctx, "nope"); return err },
		"proof":  func() error { _, err := f.s.Proof(ctx, "nope"); return err },
		"drawn":  func() error { _, _, err := f.s.Drawn(ctx, "nope", "", "", 1); return err },
	} {
		if err := call(); fault.KindOf(err) != fault.NotFound {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A freeze that shares its scan among connections freezes the same
// population as one that does not.
func TestSharedScan(t *testing.T) {
	f := newFixture(t)
	req := simpleBatch(f, 300)
	req.Rules.StrataKeys = []string{"risk"} // regions are then kept apart within strata
	f.exec(`UPDATE objects SET last_inspected_at = current_date - 3 WHERE key IN (SELECT key FROM objects WHERE key LIKE $1 ORDER BY key LIMIT 30)`, "91"+f.sfx+"%")
	var batches []Batch
	for i, parts := range []int{1, 2, 5} {
		f.s.scanParts, f.s.sharedScanFrom = parts, 0
		req.ID = f.id(fmt.Sprintf("shared-%d", i))
		if _, err := f.s.Create(ctx, req); err != nil {
			t.Fatal(err)
		}
		b, err := f.s.Freeze(ctx, req.ID)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
	}
	for _, b := range batches[1:] {
		if b.PopulationHash != batches[0].PopulationHash || b.PopulationSize+b.Exclusions.Total.Total() != 300 ||
			b.Exclusions.Total.RecentlyInspected == 0 || b.Exclusions.Total != batches[0].Exclusions.Total ||
			!sameStrataCounts(b.Strata, batches[0].Strata) {
			t.Fatalf("shared scan froze %+v, single scan %+v", b, batches[0])
		}
	}
	// A pool with no connection to spare: the freeze scans alone rather
	// than wait for one.
	lone := testenv.DB(t)
	lone.SetMaxOpenConns(1)
	s := NewService(lone)
	s.sharedScanFrom = 0
	req.ID = f.id("shared-lone")
	if _, err := s.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	b, err := s.Freeze(ctx, req.ID)
	if err != nil || b.PopulationHash != batches[0].PopulationHash {
		t.Fatalf("freeze with one connection: %v %+v", err, b)
	}

	var runs int
	if err := f.db.Get(&runs, `SELECT count(*) FROM batch_population WHERE batch_id = $1`, batches[2].ID); err != nil || runs != 12 {
		t.Fatalf("%d runs (4 risks × 3 regions), %v", runs, err)
	}
	if _, err := f.s.Draw(ctx, batches[2].ID, "x"); err != nil {
		t.Fatal(err)
	}
	objects, _, err := f.s.Drawn(ctx, batches[2].ID, "", "", 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objects {
		if o.RegionCode == "" {
			t.Fatalf("no region: %+v", o)
		}
	}
}
