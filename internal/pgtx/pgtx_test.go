package pgtx

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestRunCommitsOrRollsBack(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	db.MustExec(`CREATE TABLE IF NOT EXISTS pgtx_t (v int)`)
	boom := errors.New("boom")
	err := Run(ctx, db, nil, func(tx *sqlx.Tx) error {
		tx.MustExec(`INSERT INTO pgtx_t VALUES (1)`)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if err := Run(ctx, db, nil, func(tx *sqlx.Tx) error { _, err := tx.Exec(`INSERT INTO pgtx_t VALUES (2)`); return err }); err != nil {
		t.Fatal(err)
	}
	var got []int
	db.Select(&got, `SELECT v FROM pgtx_t ORDER BY v`)
	if len(got) != 1 || got[0] != 2 {
		t.Errorf("rows = %v: the failed transaction left its row or the good one lost it", got)
	}
}
