package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The hand-written encoding of the public results is encoding/json's, byte
// for byte, for every kind of string (so the ETags and clients see no
// difference), with and without a next page and optional fields.
func TestResultsPageJSONIsEncodingJSON(t *testing.T) {
	odd := []string{"", "嘉兴市南湖区某某有限公司", `quote " and \ backslash`, "<script>&amp;</script>", "a<b", "a>b", "a&b", "a\"b", "a\\b", "tab\tnew\nline\x01",
		"line\u2028separator\u2029", "a\u2029b", "bad \xff utf-8", "emoji 😀", "\x7f delete"}
	var pages []Page[PublicResult]
	for i, s := range odd {
		r := PublicResult{BatchID: "B-" + s, ObjectKey: s, ObjectName: s, County: "330402", CountyName: s, Items: []string{s, "ZR-01 名称"},
			ResultCode: "no_problem", Result: "未发现问题", PublishedOn: "2026-12-03", Authority: s}
		if i%2 == 0 {
			r.InspectedOn = "2026-11-30"
		}
		if i%3 == 0 {
			r.Items = nil
		}
		pages = append(pages, Page[PublicResult]{Items: []PublicResult{r, r}, NextCursor: encodeCursor(s)})
	}
	pages = append(pages, Page[PublicResult]{Items: []PublicResult{}}, Page[PublicResult]{Items: []PublicResult{{Items: []string{}}}})
	for _, p := range pages {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(p); err != nil {
			t.Fatal(err)
		}
		if got := appendResultsPage(nil, p); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("got  %s\nwant %s", got, want.Bytes())
		}
	}
}

func BenchmarkResultsPageJSON(b *testing.B) {
	r := PublicResult{BatchID: "JX-2026-01", ObjectKey: "91330402MA2B3C4D5E", ObjectName: "嘉兴市南湖区某某有限公司", County: "330402",
		CountyName: "南湖区", Items: []string{"ZR-01 土地利用检查"}, ResultCode: "no_problem", Result: "未发现问题",
		InspectedOn: "2026-11-30", PublishedOn: "2026-12-03", Authority: "嘉兴市自然资源和规划局"}
	page := Page[PublicResult]{Items: make([]PublicResult, 50), NextCursor: encodeCursor("JX-2026-01/91330402MA2B3C4D5E")}
	for i := range page.Items {
		page.Items[i] = r
	}
	b.Run("hand", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = appendResultsPage(buf[:0], page)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			json.NewEncoder(&buf).Encode(page)
		}
	})
}
