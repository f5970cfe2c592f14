package stats

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// The counters follow every kind of write the application makes (as its
// runtime role): the drawn list copied in without counties, the lock
// assigning them, tasks upserted one by one and in sets, concurrently,
// stage and overdue changes, a late retry that changes nothing, deletions
// and ledger entries; after each step they equal a recount.
func TestCountersEqualARecount(t *testing.T) {
	ctx := context.Background()
	db := testenv.RuntimeDB(t)
	s := NewService(db)
	id := testenv.UniqueID("CT")
	const objects = 60
	step := func(name string, q string, args ...any) {
		t.Helper()
		if q != "" {
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, q)
			}
		}
		if err := s.CheckCounters(ctx, id); err != nil {
			t.Fatalf("after %s: %v", name, err)
		}
	}
	step("the commitment", `INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
		VALUES ($1, 'committed', '{}', 'd', repeat('a', 64), now(), 'test')`, id)
	step("the drawn list", `INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code)
		SELECT $1, i, $1 || '-K' || i, 's', '{ZR-01}', (ARRAY['330402','330411','330421'])[1 + i % 3]
		FROM generate_series(1, $2) i`, id, objects)
	p, err := s.Progress(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Counties) != 1 || p.Counties[0].County != "" || p.Total.Stages[inspection.AwaitingMatch] != objects {
		t.Fatalf("before the lock: %+v", p)
	}
	step("the lock", `UPDATE batch_objects SET county_code = region_code WHERE batch_id = $1`, id)

	// Tasks one by one from eight writers at once, as the county
	// workflows' activities write them.
	var wg sync.WaitGroup
	errs := make(chan error, objects)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 1 + w; i <= objects/2; i += 8 {
				for seq, stage := range []string{"assigned", "inspected", "result_entered"} {
					_, err := db.ExecContext(ctx, `
						INSERT INTO tasks (batch_id, object_key, county_code, stage, seq) VALUES ($1, $2, $3, $4, $5)
						ON CONFLICT (batch_id, object_key) DO UPDATE SET stage = EXCLUDED.stage, seq = EXCLUDED.seq
						WHERE tasks.seq < EXCLUDED.seq`,
						id, fmt.Sprintf("%s-K%d", id, i), []string{"330402", "330411", "330421"}[i%3], stage, seq+1)
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	step("tasks one by one", "")
	step("a late retry", `INSERT INTO tasks (batch_id, object_key, county_code, stage, seq) VALUES ($1, $1 || '-K3', '330402', 'assigned', 1)
		ON CONFLICT (batch_id, object_key) DO UPDATE SET stage = EXCLUDED.stage, seq = EXCLUDED.seq WHERE tasks.seq < EXCLUDED.seq`, id)
	step("tasks as a set", `INSERT INTO tasks (batch_id, object_key, county_code, stage)
		SELECT batch_id, object_key, county_code, 'set_aside' FROM batch_objects WHERE batch_id = $1 AND position > $2 AND position <= $2 + 10`, id, objects/2)
	step("overdue", `UPDATE tasks SET overdue = '{inspection,result_entry}' WHERE batch_id = $1 AND stage = 'result_entered' AND object_key LIKE '%1'`, id)
	step("stages and overdue", `UPDATE tasks SET stage = 'closed', overdue = '{result_entry}' WHERE batch_id = $1 AND object_key LIKE '%1'`, id)
	step("ledger", `INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at)
		SELECT batch_id, object_key, county_code, 'result_entry', '2026-01-05', now() FROM tasks WHERE batch_id = $1 AND cardinality(overdue) > 0`, id)
	step("a ledger entry removed", `DELETE FROM accountability WHERE id = (SELECT min(id) FROM accountability WHERE batch_id = $1)`, id)
	step("set-asides removed", `DELETE FROM tasks WHERE batch_id = $1 AND stage = 'set_aside'`, id)
	// Drawn objects written while the batch has tasks are joined to them
	// (without tasks every object counts as awaiting its match, 00107).
	step("a task ahead of its object", `INSERT INTO tasks (batch_id, object_key, county_code, stage, seq) VALUES ($1, $1 || '-K999', '330402', 'inspected', 2)`, id)
	step("its object listed", `INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code)
		VALUES ($1, 999, $1 || '-K999', 's', '{ZR-01}', '330402', '330402')`, id)
	step("counties moved while tasked", `UPDATE batch_objects SET county_code = '330411' WHERE batch_id = $1 AND position IN (1, 2, 999)`, id)

	p, err = s.Progress(ctx, id, "330411")
	if err != nil {
		t.Fatal(err)
	}
	var want int
	if err := db.GetContext(ctx, &want, `SELECT count(*) FROM batch_objects WHERE batch_id = $1 AND county_code = '330411'`, id); err != nil {
		t.Fatal(err)
	}
	if len(p.Counties) != 1 || p.Total.Objects != want || p.Counties[0].Objects != want {
		t.Errorf("one county's progress: %+v, want %d objects", p, want)
	}
	// The dashboard's batch line reads the same counters.
	var year int
	var want3 [3]int
	if err := db.QueryRowContext(ctx, `
		SELECT extract(year FROM x.committed_at AT TIME ZONE 'Asia/Shanghai')::int, count(b.object_key),
		       count(*) FILTER (WHERE t.stage = 'closed'), count(*) FILTER (WHERE cardinality(t.overdue) > 0)
		FROM batches x JOIN batch_objects b ON b.batch_id = x.id
		LEFT JOIN tasks t ON t.batch_id = b.batch_id AND t.object_key = b.object_key
		WHERE x.id = $1 GROUP BY x.id`, id).Scan(&year, &want3[0], &want3[1], &want3[2]); err != nil {
		t.Fatal(err)
	}
	d, err := s.Dashboard(ctx, year, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range d.Batches {
		if l.ID == id {
			found = true
			if got := [3]int{l.Drawn, l.Closed, l.Overdue}; got != want3 || want3[2] == 0 {
				t.Errorf("dashboard line drawn, closed, overdue = %v, want %v", got, want3)
			}
		}
	}
	if !found {
		t.Errorf("the dashboard of %d has no line for %s", year, id)
	}
	step("the drawn list removed", `DELETE FROM batch_objects WHERE batch_id = $1 AND position > $2`, id, objects-5)
	if _, err := s.Progress(ctx, "CT-NONE", ""); err == nil {
		t.Error("an unknown batch has progress")
	}
}
