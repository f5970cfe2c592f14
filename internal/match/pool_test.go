package match

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

func TestCanonicalPool(t *testing.T) {
	pool := []Inspector{
		{InspectorKey: "JX-2", Tags: []string{"survey", "land", "survey"}, InitialLoad: 0, MaxLoad: 12},
		{InspectorKey: "JX-1", Tags: nil, InitialLoad: 2, MaxLoad: 30},
		{InspectorKey: `张"三\` + "\x01\b\f<>&\u2028", Tags: []string{"测绘"}, InitialLoad: 1, MaxLoad: 5},
	}
	want := `[` +
		`{"initial_load":2,"inspector_key":"JX-1","max_load":30,"tags":[]},` +
		`{"initial_load":0,"inspector_key":"JX-2","max_load":12,"tags":["land","survey"]},` +
		`{"initial_load":1,"inspector_key":"张\"三\\\u0001\b\f<>&` + "\u2028" + `","max_load":5,"tags":["测绘"]}` +
		`]`
	got := string(canonicalPool(pool))
	if got != want {
		t.Fatalf("canonical pool =\n%s\nwant\n%s", got, want)
	}
	// It is JSON, and it means the pool.
	var back []Inspector
	if err := json.Unmarshal([]byte(got), &back); err != nil {
		t.Fatal(err)
	}
	if back[2].InspectorKey != pool[2].InspectorKey {
		t.Errorf("key %q read back as %q", pool[2].InspectorKey, back[2].InspectorKey)
	}
	sum := sha256.Sum256([]byte(want))
	if h := PoolHash(pool); h != hex.EncodeToString(sum[:]) {
		t.Errorf("PoolHash = %s", h)
	}
	if h := PoolHash(nil); h != "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945" { // SHA-256 of "[]"
		t.Errorf("PoolHash(nil) = %s", h)
	}
}

func TestPoolHashIgnoresOrder(t *testing.T) {
	a := []Inspector{
		{InspectorKey: "A", Tags: []string{"x", "y"}, InitialLoad: 1, MaxLoad: 2},
		{InspectorKey: "B", Tags: []string{"y"}, MaxLoad: 3},
	}
	b := []Inspector{
		{InspectorKey: "B", Tags: []string{"y", "y"}, MaxLoad: 3},
		{InspectorKey: "A", Tags: []string{"y", "x"}, InitialLoad: 1, MaxLoad: 2},
	}
	if PoolHash(a) != PoolHash(b) {
		t.Error("PoolHash depends on order or repetition")
	}
	if a[0].Tags[0] != "x" || b[0].Tags[1] != "y" {
		t.Error("PoolHash modified its argument")
	}
	for _, c := range []func(p []Inspector){
		func(p []Inspector) { p[0].InitialLoad++ },
		func(p []Inspector) { p[0].MaxLoad++ },
		func(p []Inspector) { p[0].Tags = p[0].Tags[:1] },
		func(p []Inspector) { p[0].InspectorKey = "C" },
	} {
		p := []Inspector{a[0], a[1]}
		p[0].Tags = []string{"x", "y"}
		c(p)
		if PoolHash(p) == PoolHash(a) {
			t.Errorf("PoolHash ignores a change: %v", p)
		}
	}
}
