package catalog

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestChinese(t *testing.T) {
	for _, c := range []struct{ en, zh string }{
		{"wrong username or password", "用户名或密码不正确"},
		{`"2026-13-01" is not a date written as YYYY-MM-DD`, `"2026-13-01" 不是 YYYY-MM-DD 格式的日期`},
		{"batch 2026-ZR-001 is committed; it must be frozen before it is drawn", "批次 2026-ZR-001 刚公布承诺值，须先冻结检查对象名单才能抽取；请稍候片刻再录入公开随机值"},
		{"batch 2026-ZR-001 is locked and cannot be drawn", "批次 2026-ZR-001 处于“已锁定分配”，不能抽取"},
		{"plan XZ-2026 is approved; submit needs a draft plan", "计划 XZ-2026 处于“已审核”；“提交”需要处于“草稿”的计划"},
		{"version 2 of check item ZR-01 is not published; publish it before drawing for it", "检查事项 ZR-01 的第 2 版尚未公布；公布后才能抽取"},
		{"the file has 3 problem(s) (the first 2 are listed)", "文件有 3 处问题（列出前 2 处）"},
		{"the file has 3 problem(s)", "文件有 3 处问题"},
		{"This needs role admin; you are coordinator.", "此操作需要角色 admin；您的角色是 coordinator。"},
		{"invalid password", "“password”填写有误"},
		{"2 of the objects of batch B1 in county 330402 cannot be staffed, so nobody was assigned: O1 (eligible 1, available 1), O2 (eligible 3, available 0); widen the pool, raise load caps or review recusals, then match again",
			"批次 B1 中 330402 有 2 个对象无法配齐检查人员，因此未分配任何人员：O1 (eligible 1, available 1), O2 (eligible 3, available 0)；请补充人员、提高人员任务上限或核对回避后重新匹配"},
		{"county 330402 of batch B1 was already matched on 2026-12-04 09:30 by county_officer:user-wang; a match is final (replace single inspectors instead)",
			"批次 B1 的 330402 已于 2026-12-04 09:30 由 county_officer:user-wang 完成匹配；匹配为最终结果（个别人员请使用替换）"},
	} {
		got, ok := Chinese(c.en)
		if !ok || got != c.zh {
			t.Errorf("Chinese(%q) = %q, %v; want %q", c.en, got, ok, c.zh)
		}
	}
	if got, ok := Chinese("a message nobody wrote down"); ok || got != "a message nobody wrote down" {
		t.Errorf("unknown message: %q %v", got, ok)
	}
}

func TestPrefersChinese(t *testing.T) {
	for h, want := range map[string]bool{
		"zh-CN": true, "zh": true, "zh-Hans-CN,zh;q=0.9,en;q=0.8": true, "en-US,en;q=0.9,zh-CN;q=0.5": false,
		"": false, "en": false, "fr": false, "de,zh-CN;q=0.7": true, "garbage;;q=x": false,
	} {
		if got := PrefersChinese(h); got != want {
			t.Errorf("PrefersChinese(%q) = %v", h, got)
		}
	}
}

// Every translation takes the arguments its format gives, no more and
// none of another kind, and formats without a mistake.
func TestTranslationsTakeTheirArguments(t *testing.T) {
	for _, f := range Formats() {
		n := len(verb.FindAllString(strings.ReplaceAll(f, "%%", ""), -1))
		args := make([]any, n)
		for i := range args {
			args[i] = "ARG" + strconv.Itoa(i+1)
		}
		got := printer.Sprintf(f, args...)
		for i := range args {
			if !strings.Contains(got, args[i].(string)) {
				t.Errorf("%q → %q drops argument %d", f, got, i+1)
			}
		}
		if strings.Contains(got, "%!") {
			t.Errorf("%q → %q", f, got)
		}
		if !regexp.MustCompile(`\p{Han}`).MatchString(got) {
			t.Errorf("%q → %q is not Chinese", f, got)
		}
	}
}

// The messages people read from the console's actions are all in the
// catalogue: every format given to fault.New, fault.Field and the
// validators' add/bad in the packages behind those actions.
func TestEveryFormatOfTheConsoleIsTranslated(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	fset := token.NewFileSet()
	for _, dir := range []string{"api", "internal/auth", "internal/batch", "internal/bulk", "internal/plan", "internal/workday", "internal/notify", "internal/cases", "workflows"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.go"))
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) < 2 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, _ := sel.X.(*ast.Ident)
				fault := x != nil && x.Name == "fault" && (sel.Sel.Name == "New" || sel.Sel.Name == "Field")
				if !fault && sel.Sel.Name != "add" && sel.Sel.Name != "bad" {
					return true
				}
				lit, ok := call.Args[1].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, _ := strconv.Unquote(lit.Value)
				if literalLen(s) > 0 && !Has(s) {
					missing = append(missing, filepath.Join(dir, filepath.Base(name))+": "+s)
				}
				return true
			})
		}
	}
	slices.Sort(missing)
	for _, m := range slices.Compact(missing) {
		t.Errorf("no Chinese for %s", m)
	}
}
