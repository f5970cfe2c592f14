package migrations_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Every migration must apply, roll back to nothing and apply again.
func TestUpDownUp(t *testing.T) {
	db, err := sql.Open("postgres", testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatal(err)
	}
	for {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if err := migrations.Down(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatalf("second up: %v", err)
	}
}

func TestLibraryChangesAreRecorded(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`SET LOCAL spotcheck.actor = 'coordinator:zhang'`)
	mustExec(`INSERT INTO objects (key, kind, name, region_code) VALUES ('913304020000000001', 'enterprise', '测试企业', '330402')`)
	mustExec(`UPDATE objects SET risk_level = 'high', row_version = row_version + 1 WHERE key = '913304020000000001'`)
	mustExec(`UPDATE objects SET risk_level = 'high' WHERE key = '913304020000000001'`) // no change, no record
	var actions []string
	rows, err := tx.QueryContext(ctx, `SELECT action || ':' || actor || ':' || coalesce(after->>'risk_level', '') FROM library_changes WHERE entity_key = '913304020000000001' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		actions = append(actions, s)
	}
	want := []string{"create:coordinator:zhang:normal", "update:coordinator:zhang:high"}
	if len(actions) != 2 || actions[0] != want[0] || actions[1] != want[1] {
		t.Errorf("changes = %v, want %v", actions, want)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO objects (key, kind, name, region_code) VALUES ('bad	key', 'enterprise', 'x', '330402')`); err == nil {
		t.Error("a key with a TAB was stored")
	}
}

func TestCheckItemVersionsAreHistory(t *testing.T) {
	db := testenv.DB(t)
	if _, err := db.Exec(`INSERT INTO check_items (code, version, name, object_kind, methods, class, default_ratio, effective_from)
		VALUES ('ZR-99', 1, '测试事项', 'enterprise', '{on_site}', 'general', '0.05', '2026-01-01')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE check_items SET published = true WHERE code = 'ZR-99'`); err != nil {
		t.Errorf("publishing refused: %v", err)
	}
	if _, err := db.Exec(`UPDATE check_items SET name = '改名' WHERE code = 'ZR-99'`); err == nil {
		t.Error("an old version was rewritten")
	}
}

// A publication keeps what the public reads of it (00106): taken when the
// row is written, and for rows published before the migration, by the
// migration itself.
func TestPublicationSnapshot(t *testing.T) {
	db, err := sql.Open("postgres", testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO check_items (code, version, name, object_kind, methods, class, default_ratio, effective_from, published, authority)
		 VALUES ('SNAP-01', 1, '快照事项', 'enterprise', '{on_site}', 'general', '0.05', '2025-01-01', true, '嘉兴市自然资源和规划局')`,
		`INSERT INTO objects (key, kind, name, region_code) VALUES ('SNAP-K1', 'enterprise', '快照企业', '330402'), ('SNAP-K2', 'enterprise', '后来企业', '330411')`,
		`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
		 VALUES ('snap', 'committed', '{}', 'x', repeat('a', 64), now(), 'test')`,
		`INSERT INTO batch_items (batch_id, position, item_code, item_version) VALUES ('snap', 0, 'SNAP-01', 1)`,
		`INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code)
		 VALUES ('snap', 1, 'SNAP-K1', 's', '{SNAP-01}', '330402', '330402'), ('snap', 2, 'SNAP-K2', 's', '{SNAP-01}', '330411', '330411')`,
		`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, inspected_on, overdue)
		 VALUES ('snap', 'SNAP-K1', '330402', 'published', '{}', '2026-03-10', '{}'), ('snap', 'SNAP-K2', '330411', 'published', '{}', '2026-03-11', '{}')`,
		`INSERT INTO results (batch_id, object_key, revision, result_code, method, problems_found, entered_by, entered_at) VALUES
		 ('snap', 'SNAP-K1', 1, 'no_problem', 'on_site', false, 'x', now()), ('snap', 'SNAP-K1', 2, 'corrected', 'on_site', true, 'x', now()),
		 ('snap', 'SNAP-K2', 1, 'no_problem', 'on_site', false, 'x', now())`,
		`INSERT INTO publications (batch_id, object_key, published_at) VALUES ('snap', 'SNAP-K1', now())`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	// SNAP-K1 was published before 00106: roll it back and apply it again.
	if err := migrations.Down(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO publications (batch_id, object_key, published_at) VALUES ('snap', 'SNAP-K2', now())`); err != nil {
		t.Fatal(err)
	}
	// What is published stays as published: a later rename is not in it.
	if _, err := db.Exec(`UPDATE objects SET name = '改名企业' WHERE key = 'SNAP-K1'`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT object_key || '|' || county_code || '|' || county_name || '|' || object_name || '|' || array_to_string(item_names, ',') || '|' ||
		array_to_string(item_codes, ',') || '|' || authorities || '|' || result_code || '|' || inspected_on FROM publications ORDER BY object_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []string{
		"SNAP-K1|330402|南湖区|快照企业|SNAP-01 快照事项|SNAP-01|嘉兴市自然资源和规划局|corrected|2026-03-10",
		"SNAP-K2|330411|秀洲区|后来企业|SNAP-01 快照事项|SNAP-01|嘉兴市自然资源和规划局|no_problem|2026-03-11",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("snapshots:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
