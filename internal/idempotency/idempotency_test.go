package idempotency

import (
	"bytes"
	"context"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestAKeyAnswersOnce: the first claim owns the key, a second waits for its
// record; a released key can be claimed again; expired records are swept
// and live ones kept.
func TestAKeyAnswersOnce(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := NewStore(db)
	who, key := "coordinator:test", testenv.UniqueID("K")
	sum := bytes.Repeat([]byte{7}, 32) // a SHA-256
	if ok, err := s.Claim(ctx, who, key, "POST", "/api/v1/batches", sum); err != nil || !ok {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, err := s.Claim(ctx, who, key, "POST", "/api/v1/batches", sum); err != nil || ok {
		t.Fatalf("second claim: %v %v", ok, err)
	}
	if ok, err := s.Claim(ctx, "admin:test", key, "POST", "/api/v1/batches", sum); err != nil || !ok {
		t.Fatalf("another caller's key of the same name: %v %v", ok, err)
	}
	if rec, ok, err := s.Get(ctx, who, key); err != nil || !ok || rec.Status != 0 || !bytes.Equal(rec.Hash, sum) {
		t.Fatalf("in progress: %+v %v %v", rec, ok, err)
	}
	if err := s.Finish(ctx, who, key, 201, "application/json", []byte(`{"Location":"/x"}`), []byte(`{"id":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if rec, ok, err := s.Get(ctx, who, key); err != nil || !ok || rec.Status != 201 || string(rec.Response) != `{"id":"x"}` {
		t.Fatalf("finished: %+v %v %v", rec, ok, err)
	}
	if err := s.Release(ctx, who, key); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Get(ctx, who, key); err != nil || ok {
		t.Fatalf("released: %v %v", ok, err)
	}
	if _, err := db.Exec(`INSERT INTO idempotency_keys (principal, key, method, path, request_hash, created_at)
		VALUES ($1, $2, 'POST', '/api/v1/batches', sha256('x'), now() - interval '25 hours')`, who, key+"-old"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(ctx); err != nil || n < 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, ok, _ := s.Get(ctx, who, key+"-old"); ok {
		t.Fatal("an expired record survived the sweep")
	}
	if _, ok, _ := s.Get(ctx, "admin:test", key); !ok {
		t.Fatal("the sweep removed a live record")
	}
}
