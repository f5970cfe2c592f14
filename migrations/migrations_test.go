package migrations_test

import (
	"context"
	"database/sql"
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
