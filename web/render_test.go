package web

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
)

// BenchmarkRenderResults renders the busiest page, 50 results and the filters,
// without the database: the template's share of a request.
func BenchmarkRenderResults(b *testing.B) {
	p := &Portal{log: zap.NewNop(), pages: mustParse()}
	rp := resultsPage{Params: map[string]string{}, First: true, Next: "/results?after=x", Reset: "/results", CSV: "/x", XLSX: "/y"}
	var rs []disclosure.Result
	for i := range 50 {
		rs = append(rs, disclosure.Result{BatchID: "bench-1", ObjectKey: fmt.Sprintf("91330402MA%08dX", i), ObjectName: "基准企业" + fmt.Sprint(i),
			County: "330402", CountyName: "南湖区", Items: []string{"BENCH-01 基准测试事项"}, ResultCode: "no_problem", Result: "未发现问题",
			InspectedOn: "2026-11-10", PublishedOn: "2026-11-20", Authority: "嘉兴市自然资源和规划局"})
	}
	rp.Results = rowsOf(rs)
	for range 9 {
		rp.Filters.Items = append(rp.Filters.Items, disclosure.Option{Code: "ZR-01", Name: "土地复垦义务履行情况的检查"})
	}
	for range 9 {
		rp.Filters.Counties = append(rp.Filters.Counties, disclosure.Option{Code: "330402", Name: "南湖区"})
	}
	rp.Filters.Years = []int{2026, 2025, 2024, 2023, 2022, 2021}
	gin.SetMode(gin.ReleaseMode)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest("GET", "/results", nil)
		p.render(c, 200, "results", "抽查结果公告", nil, rp)
		n = w.Body.Len()
	}
	b.Logf("%d bytes", n)
}

// Dates are written in China's time, whichever form the API gives them in.
func TestChineseDate(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-03":                    "2026年12月3日",
		"2026-12-03T17:26:12Z":          "2026年12月4日",
		"2026-12-03 17:26:12.669379+00": "2026年12月4日",
		"not a date":                    "not a date",
	} {
		if got := chineseDate(in); got != want {
			t.Errorf("chineseDate(%q) = %q, want %q", in, got, want)
		}
	}
	left := 3
	for _, c := range []struct {
		left *int
		want string
	}{{&left, "剩 3 个工作日"}, {new(int), "今日到期"}, {func() *int { n := -2; return &n }(), "已逾期 2 个工作日"}, {nil, "（工作日历缺少该年，暂不计算）"}} {
		if got := daysLeft(c.left); got != c.want {
			t.Errorf("daysLeft = %q, want %q", got, c.want)
		}
	}
}
