package api

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// FuzzWriteBodies sends arbitrary bodies to every write operation of
// api/openapi.json that takes JSON: none may answer a 5xx, and a refused
// one changes no row. The seed corpus (the bad bodies and strings of the
// generated test, in every template) runs in a plain `go test`; `go test
// -fuzz FuzzWriteBodies ./api` explores further.
func FuzzWriteBodies(f *testing.F) {
	doc := loadOpenAPI(f)
	type target struct{ method, path, opID string }
	var targets []target
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil && method != http.MethodGet && !strings.HasSuffix(path, "/import") {
				targets = append(targets, target{method, path, op.OperationID})
			}
		}
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].opID < targets[j].opID })
	for i, tg := range targets {
		for _, b := range badBodies {
			f.Add(uint8(i), []byte(b.body))
		}
		for _, tpl := range bodyTemplates[tg.opID] {
			for _, s := range badStrings {
				f.Add(uint8(i), []byte(strings.Replace(tpl, "%s", s.json, 1)))
			}
		}
	}
	db := testenv.NewMigratedDB(f)
	h, fix := fullHandlerOn(f, db), newScopeFixtureIn(f, db)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		tg := targets[int(which)%len(targets)]
		token, own := caller(fix, tg.opID)
		url := fix.path(tg.path)
		if own {
			url = fix.ownPath(tg.path)
		}
		hdr := map[string]string{}
		if token != "" {
			hdr["Authorization"] = "Bearer " + token
		}
		before := tableDigest(t, db)
		rec := sendBad(h, badRequest{method: tg.method, path: url, header: hdr, body: body, ctype: "application/json"})
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", tg.method, url, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			if after := tableDigest(t, db); after != before {
				t.Fatalf("%s %s %q: refused (%d) but rows changed:\n%s", tg.method, url, body, rec.Code, diffDigest(before, after))
			}
		}
	})
}
