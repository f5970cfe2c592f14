package main

import (
	"bytes"
	"context"
	"database/sql"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

func cliRun(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestImportExportCommands(t *testing.T) {
	url := testenv.DatabaseURL(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(rand.Uint64(), 5))
	k := []string{uscc.Generate(rng, "330411"), uscc.Generate(rng, "330411")}
	good := filepath.Join(dir, "objects.csv")
	writeText(t, good, "名称,统一社会信用代码,所属区域,标签\n甲公司,"+k[0]+",秀洲区,测试CLI\n乙公司,"+k[1]+",330411,测试CLI\n")

	out, _, err := cliRun("import", "objects", good, "--dry-run", "--database-url", url)
	if err != nil || !strings.Contains(out, "would create 2, update 0, leave 0 unchanged") {
		t.Fatalf("dry run: %q %v", out, err)
	}
	// Flags before the arguments work as well as after.
	out, _, err = cliRun("import", "--database-url", url, "--actor", "cli:tester", "objects", good)
	if err != nil || !strings.Contains(out, "2 objects rows: 2 created, 0 updated, 0 unchanged") {
		t.Fatalf("import: %q %v", out, err)
	}

	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var actor string
	if err := db.QueryRow(`SELECT actor FROM library_changes WHERE entity_key = $1`, k[0]).Scan(&actor); err != nil || actor != "cli:tester" {
		t.Errorf("actor %q %v", actor, err)
	}

	for _, ext := range []string{"csv", "xlsx"} {
		exported := filepath.Join(dir, "export."+ext)
		if _, _, err := cliRun("export", "objects", "-o", exported, "--region", "秀洲区", "--database-url", url); err != nil {
			t.Fatalf("export %s: %v", ext, err)
		}
		out, _, err = cliRun("import", "objects", exported, "--database-url", url)
		if err != nil || !strings.Contains(out, "0 created, 0 updated") {
			t.Errorf("re-import of the %s export: %q %v", ext, out, err)
		}
	}
	out, _, err = cliRun("export", "objects", "--region", "330411", "--kind", "企业", "--database-url", url)
	if err != nil || !strings.HasPrefix(out, "\uFEFF统一社会信用代码/对象编码,名称") || !strings.Contains(out, k[1]+",乙公司,enterprise,330411") {
		t.Errorf("export to stdout: %v\n%s", err, out)
	}

	tmpl := filepath.Join(dir, "t.xlsx")
	if _, _, err := cliRun("export", "inspectors", "--template", "-o", tmpl, "--database-url", url); err != nil {
		t.Fatal(err)
	}
	wb, err := excelize.OpenFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := wb.GetCellValue("执法检查人员", "A1"); v != "工号" {
		t.Errorf("template A1 = %q", v)
	}
}

func TestImportCommandPrintsEveryProblem(t *testing.T) {
	url := testenv.DatabaseURL(t)
	rng := rand.New(rand.NewPCG(rand.Uint64(), 6))
	k := uscc.Generate(rng, "330402")
	bad := filepath.Join(t.TempDir(), "bad.csv")
	writeText(t, bad, "统一社会信用代码,名称,所属区域,风险等级\n"+k+",甲,南湖区,\n"+k[:17]+"?,乙,南湖区,\n"+k+",丙,火星,极高\n")
	_, errOut, err := cliRun("import", "objects", bad, "--database-url", url)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "4 problem(s); nothing was imported") {
		t.Fatalf("error %v", err)
	}
	want := []string{
		`row 3, column A (统一社会信用代码): invalid unified social credit code: position 18: "?" is not a character used in codes`,
		`row 4, column A (统一社会信用代码): duplicate key "` + k + `": first in row 2`,
		`row 4, column C (所属区域): unknown region "火星"`,
		`row 4, column D (风险等级): unknown risk level "极高"`,
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != len(want) {
		t.Errorf("stderr:\n%s", errOut)
	}
	for i, w := range want {
		if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: want prefix %q\nstderr:\n%s", i+1, w, errOut)
		}
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM objects WHERE key = $1`, k).Scan(&n); err != nil || n != 0 {
		t.Errorf("a file with problems wrote %d rows (%v)", n, err)
	}
}

func TestImportExportUsageMistakes(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.csv")
	writeText(t, f, "名称\n")
	cases := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"import", "objects"}, "usage: spotcheck import", 2},
		{[]string{"import", "things", f}, `unknown library "things"`, 2},
		{[]string{"import", "objects", f, "--encoding", "big5"}, "--encoding: must be utf-8 or gb18030", 2},
		{[]string{"import", "objects", f, "--database-url", ""}, "DATABASE_URL is not set", 2},
		{[]string{"import", "objects", filepath.Join(t.TempDir(), "missing.csv")}, "cannot read", 1},
		{[]string{"export"}, "usage: spotcheck export", 2},
		{[]string{"export", "objects", "--format", "pdf"}, "--format: must be csv or xlsx", 2},
	}
	for _, c := range cases {
		_, _, err := cliRun(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != c.code {
			t.Errorf("%v: %v (exit %d), want %q exit %d", c.args, err, exitCode(err), c.want, c.code)
		}
	}
	_, _, err := cliRun("export", "objects", "--region", "火星", "--database-url", testenv.DatabaseURL(t))
	if err == nil || !strings.Contains(err.Error(), "unknown region") {
		t.Errorf("unknown region: %v", err)
	}
}

func writeText(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
