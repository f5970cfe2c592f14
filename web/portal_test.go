package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/xuri/excelize/v2"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/api"
	"github.com/spotcheck-gov/spotcheck/internal/apicontract"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/browsertest"
	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/web"
)

func httpGet(t *testing.T, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// secrets are in the fixture's database but never public: inspectors,
// officers, an unpublished item version.
var secrets = []string{"JX-INSPECTOR-SECRET", "王科长", "未公布的内容", "未公布的依据", "秀洲区 2026 年度抽查工作计划"}

// TestPortal loads every page in Chromium on a system with a published
// batch: content, nothing unpublished, no console error, no serious or
// critical axe-core violation, usable at 360 px; screenshots at 1280 and
// 360 px go to the test's artifact folder (go test -artifacts).
func TestPortal(t *testing.T) {
	s := newSystem(t)
	b := browsertest.Start(t)
	hit := s.published[1]
	var keys []string // published, in the order of the results pages
	for _, d := range s.published {
		keys = append(keys, d.ObjectKey)
	}
	slices.Sort(keys)
	pages := []struct {
		name, path string
		want       []string
		wantNot    []string
	}{
		{"home", "/", []string{"2026年度抽查工作计划", "已公示抽查结果", fmt.Sprintf("已公示抽查结果 %d 条", len(s.published)), s.batch, s.pending,
			"结果已公示", "已公布承诺值", "企业名称或统一社会信用代码", "发布机关：" + disclosure.Authority}, nil},
		{"items", "/items", []string{"抽查事项清单（共 1 项）", s.item, "第 2 版", "复垦费用使用情况", "实地检查、书面检查", "企业"}, nil},
		{"item", "/items/" + s.item, []string{"第 1 版", "第 2 版（2026年6月1日施行）", "与上一版相比的变更", "检查依据", "《土地复垦条例》第十七条、第十八条"}, []string{"第 3 版"}},
		{"plans", "/plans", []string{"2026 年度“双随机、一公开”抽查工作计划", "按处室（部门）汇总", "按县（市、区）汇总", "国土空间用途管制处 2026 年度抽查工作计划",
			"第 1 批 第一批：2026年11月2日", "2026年11月2日至2026年12月31日"}, nil},
		{"batches", "/batches", []string{s.batch, s.pending, "结果已公示", "已公布承诺值"}, nil},
		{"batch", "/batches/" + s.batch, []string{"公布承诺值", "冻结检查对象名单", "取得公开随机值", "2026-11-02 见证人甲|见证人乙", "随机抽取", "揭示保密随机数",
			"锁定名单并分配至县（市、区）", s.drawn[0].ObjectKey, "下载抽取证明（JSON）", "下载检查对象总体名单（TSV）", "在线验证本次抽取", "查看批次汇总"}, nil},
		{"batch-pending", "/batches/" + s.pending, []string{"已公布承诺值", "尚未冻结", "抽中名单在抽取完成后公布"}, []string{"下载抽取证明", "下载检查对象总体名单"}},
		{"summary", "/batches/" + s.batch + "/summary", []string{"各县（市、区）抽查情况", "合计", "南湖区", "秀洲区", "2026年12月3日"}, nil},
		{"results", "/results", []string{s.names[s.published[0].ObjectKey], s.published[0].ObjectKey, "2026年11月20日", "2026年11月10日", "未发现问题",
			disclosure.Authority, "Excel（XLSX）"}, []string{s.names[s.unpublished.ObjectKey]}},
		{"results-search", "/results?q=" + hit.ObjectKey, []string{s.names[hit.ObjectKey], hit.ObjectKey}, []string{s.names[s.published[0].ObjectKey], s.names[s.unpublished.ObjectKey]}},
		{"results-after", "/results?after=" + url.QueryEscape(s.batch+"/"+keys[5]), []string{keys[6], keys[len(keys)-1], "抽查结果（续）", "第一页"}, []string{">" + keys[5] + "<", ">" + keys[0] + "<"}},
		{"object", "/objects/" + url.PathEscape(hit.ObjectKey), []string{s.names[hit.ObjectKey], hit.ObjectKey, s.batch, "2026年11月20日"}, nil},
		{"verify", "/verify?batch=" + s.batch, []string{"在线验证抽取结果", "验证", "不会上传"}, nil},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			b.Do(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.url+p.path), chromedp.WaitReady(chromedp.CSS("footer")))
			text := browsertest.Get(t, b, chromedp.Text(chromedp.CSS("body")))
			html := browsertest.Get(t, b, chromedp.OuterHTML(chromedp.CSS("html")))
			for _, w := range p.want {
				if !strings.Contains(text, w) {
					t.Errorf("%s does not show %q:\n%s", p.path, w, text)
				}
			}
			for _, w := range append(p.wantNot, secrets...) {
				if w != "" && strings.Contains(html, w) {
					t.Errorf("%s shows %q", p.path, w)
				}
			}
			if !strings.Contains(text, "首页") || !strings.Contains(html, `aria-label="当前位置"`) || !strings.Contains(html, "<title>") {
				t.Errorf("%s has no breadcrumbs or title", p.path)
			}
			for _, v := range b.Axe(t) {
				t.Errorf("%s: axe %s (%s): %s %v", p.path, v.ID, v.Impact, v.Help, v.Nodes)
			}
			shot(t, b, p.name+"-1280.png")
			b.Do(t, chromedp.EmulateViewport(360, 740), chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("footer")))
			scrollWidth := browsertest.Get(t, b, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
			if scrollWidth > 360 {
				t.Errorf("%s is %d px wide at 360 px: it scrolls sideways", p.path, scrollWidth)
			}
			for _, v := range b.Axe(t) {
				t.Errorf("%s at 360 px: axe %s (%s): %s %v", p.path, v.ID, v.Impact, v.Help, v.Nodes)
			}
			shot(t, b, p.name+"-360.png")
			if errs := b.ConsoleErrors(); len(errs) > 0 {
				t.Errorf("%s: console errors: %q", p.path, errs)
			}
		})
	}

	t.Run("same as /public", func(t *testing.T) {
		_, body := httpGet(t, s.url+"/public/results?limit=200")
		var page struct{ Items []disclosure.Result }
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		_, html := httpGet(t, s.url+"/results")
		if len(page.Items) != len(s.published) {
			t.Fatalf("/public/results has %d results, want %d", len(page.Items), len(s.published))
		}
		for _, r := range page.Items {
			if !strings.Contains(html, r.ObjectKey) {
				t.Errorf("/results does not list %s, which /public/results does", r.ObjectKey)
			}
		}
		if strings.Contains(html, s.unpublished.ObjectKey) {
			t.Errorf("/results lists the unpublished %s", s.unpublished.ObjectKey)
		}
	})

	t.Run("caching", func(t *testing.T) {
		for _, p := range pages {
			resp, body := httpGet(t, s.url+p.path)
			// Readable without JavaScript: the content is in the page as served.
			if !strings.Contains(body, p.want[0]) {
				t.Errorf("%s as served does not contain %q", p.path, p.want[0])
			}
			tag := resp.Header.Get("ETag")
			if resp.StatusCode != 200 || tag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s: %d %v", p.path, resp.StatusCode, resp.Header)
				continue
			}
			if resp, _ := httpGet(t, s.url+p.path, "If-None-Match", tag); resp.StatusCode != http.StatusNotModified {
				t.Errorf("%s with If-None-Match: %d", p.path, resp.StatusCode)
			}
		}
	})

	t.Run("downloads", func(t *testing.T) {
		resp, csv := httpGet(t, s.url+"/results/export?format=csv&county=330402")
		if resp.StatusCode != 200 || !strings.HasPrefix(csv, "\ufeff批次,对象标识,对象名称,县（市、区）,检查事项,检查结果") || !strings.Contains(csv, "南湖区") ||
			strings.Contains(csv, "秀洲区") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("CSV: %d %v\n%s", resp.StatusCode, resp.Header, csv)
		}
		resp, body := httpGet(t, s.url+"/results/export?format=xlsx")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("XLSX: %d %v", resp.StatusCode, resp.Header)
		}
		wb, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := wb.GetRows("抽查结果公告")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(s.published)+1 || strings.Join(rows[0], ",") != strings.Join(disclosure.ResultHeader, ",") || rows[1][0] != s.batch {
			t.Errorf("XLSX: %d rows, header %v", len(rows), rows[0])
		}
	})

	t.Run("bad input and what is not public", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			status int
			says   string
		}{
			{"/results?year=abc", 400, "年度应为"},
			{"/results?nope=1", 400, "本页没有参数"},
			{"/results?result=maybe", 400, "检查结果“maybe”不存在"},
			{"/results?county=" + url.QueryEscape("火星县"), 400, "县（市、区）“火星县”不存在"},
			{"/results/export?format=csv&department=" + url.QueryEscape("不存在的处"), 400, "部门“不存在的处”不存在"},
			{"/results?after=garbage", 400, "翻页参数有误"},
			{"/results/export?format=pdf", 400, "下载格式应为 csv 或 xlsx"},
			{"/plans?year=1999", 400, "年度应为"},
			{"/batches/NO-SUCH-BATCH", 404, "未找到"},
			{"/items/NO-SUCH-ITEM", 404, "未找到"},
			{"/objects/" + s.unpublished.ObjectKey, 404, "没有“" + s.unpublished.ObjectKey + "”的公示结果"},
			{"/batches/" + s.pending + "/summary", 404, "未找到"},
			{"/results?q=" + strings.Repeat("企", 100), 400, "超过 200 字节"},
		} {
			resp, body := httpGet(t, s.url+c.path)
			if resp.StatusCode != c.status || !strings.Contains(body, c.says) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s: %d %s, want %d saying %q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.says)
			}
		}
	})

	t.Run("filters take names", func(t *testing.T) {
		_, byCode := httpGet(t, s.url+"/results/export?format=csv&county=330402")
		resp, byName := httpGet(t, s.url+"/results/export?format=csv&county="+url.QueryEscape("南湖区"))
		if resp.StatusCode != 200 || byName != byCode || !strings.Contains(byName, "南湖区") {
			t.Errorf("results of 南湖区 by name: %d\n%s\nby code:\n%s", resp.StatusCode, byName, byCode)
		}
	})
}

// shot saves a full-page screenshot of what the browser shows.
func shot(t *testing.T, b *browsertest.Browser, name string) {
	t.Helper()
	png := browsertest.Get(t, b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The public rate limit counts the pages with /public.
func TestPortalRateLimit(t *testing.T) {
	db := testenv.DB(t)
	h := apicontract.Wrap(t, api.NewHandler(api.Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(), PublicRateLimit: 1,
		Pages: web.New(disclosure.New(db), zap.NewNop())}))
	codes := map[int]int{}
	for _, p := range []string{"/verify", "/public/check-items", "/verify", "/verify", "/public/check-items"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		codes[rec.Code]++
	}
	if codes[200] != 3 || codes[429] != 2 {
		t.Errorf("a burst of 3 over pages and /public, then 429: %v", codes)
	}
}
