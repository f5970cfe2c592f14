// Command gen writes the rows of the import benchmark: the same objects
// twice, as the CSV file an office would import (Chinese headers and
// terms) and as the CSV that psql \copy loads straight into the objects
// table (canonical codes, tags as array literals).
package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

type region struct{ code, name, division string }

var (
	regions = []region{
		{"330402", "南湖区", "330402"}, {"330411", "秀洲区", "330411"}, {"330421", "嘉善县", "330421"},
		{"330424", "海盐县", "330424"}, {"330481", "海宁市", "330481"}, {"330482", "平湖市", "330482"},
		{"330483", "桐乡市", "330483"}, {"JXJK", "嘉兴经济技术开发区（国际商务区）", "330400"}, {"JXGQ", "嘉兴港区", "330400"},
	}
	risks    = [][2]string{{"low", "低"}, {"normal", "一般"}, {"raised", "较高"}, {"high", "高"}}
	statuses = [][2]string{{"active", "正常"}, {"active", "正常"}, {"active", "正常"}, {"closed", "停业"}, {"moved_out", "迁出"}}
	tagSet   = []string{"矿山", "土地", "测绘", "规划", "建设用地", "地质灾害"}
	trades   = []string{"矿业", "建材", "房地产开发", "测绘", "砖瓦", "物流", "置业", "农业开发"}
	stations = []string{"城南所", "城北所", "新丰所", "王店所", "西塘所", "", ""}
)

func main() {
	n := flag.Int("n", 1_000_000, "rows")
	importPath := flag.String("import", "import.csv", "file for spotcheck import")
	copyPath := flag.String("copy", "copy.csv", "file for psql \\copy")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()

	imp, cp := create(*importPath), create(*copyPath)
	iw, cw := csv.NewWriter(imp.w), csv.NewWriter(cp.w)
	must(iw.Write([]string{"统一社会信用代码", "名称", "对象类型", "所属区域", "所属站所", "地址", "标签", "风险等级", "信用等级", "状态", "最近检查日期"}))
	must(cw.Write([]string{"key", "kind", "name", "region_code", "station", "address", "tags", "risk_level", "credit_class", "status", "last_inspected_at"}))

	r := rand.New(rand.NewPCG(*seed, 2024))
	seen := make(map[string]struct{}, *n)
	for i := 0; i < *n; i++ {
		reg := regions[r.IntN(len(regions))]
		key := uscc.Generate(r, reg.division)
		if _, dup := seen[key]; dup {
			i--
			continue
		}
		seen[key] = struct{}{}
		name := fmt.Sprintf("嘉兴市%s%s有限公司%d", reg.name[:6], trades[r.IntN(len(trades))], i)
		station := stations[r.IntN(len(stations))]
		address := fmt.Sprintf("%s某某路%d号", reg.name, r.IntN(999)+1)
		var tags []string
		for _, t := range tagSet {
			if r.IntN(4) == 0 {
				tags = append(tags, t)
			}
		}
		risk, status := risks[r.IntN(len(risks))], statuses[r.IntN(len(statuses))]
		credit := string("ABCD"[r.IntN(4)])
		date := ""
		if r.IntN(10) < 7 {
			date = fmt.Sprintf("%d-%02d-%02d", 2022+r.IntN(4), 1+r.IntN(12), 1+r.IntN(28))
		}
		must(iw.Write([]string{key, name, "企业", reg.name, station, address, strings.Join(tags, ";"), risk[1], credit, status[1], date}))
		must(cw.Write([]string{key, "enterprise", name, reg.code, station, address, "{" + strings.Join(tags, ",") + "}", risk[0], credit, status[0], date}))
	}
	iw.Flush()
	cw.Flush()
	must(iw.Error())
	must(cw.Error())
	imp.close()
	cp.close()
}

type output struct {
	f *os.File
	w *bufio.Writer
}

func create(path string) output {
	f, err := os.Create(path)
	must(err)
	return output{f, bufio.NewWriterSize(f, 1<<20)}
}

func (o output) close() {
	must(o.w.Flush())
	must(o.f.Close())
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
