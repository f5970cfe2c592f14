package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFolderTableMatchesTree keeps the README's folder table honest: every
// folder of the tree (the commands, the internal packages and the other
// top-level folders) has its row, and every row names something that
// exists.
func TestFolderTableMatchesTree(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Folders\n")
	if !ok {
		t.Fatal("README.md has no ## Folders section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	listed := map[string]bool{}
	name := regexp.MustCompile("`([^`]+)`")
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			listed[strings.TrimSuffix(m[1], "/")] = true
		}
	}
	for entry := range listed {
		if _, err := os.Stat(filepath.Join(root, entry)); err != nil {
			t.Errorf("the folder table lists %s, which is not in the tree", entry)
		}
	}
	var tree []string
	top, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range top {
		switch n := e.Name(); {
		case !e.IsDir() || strings.HasPrefix(n, ".") || n == "bin":
		case n == "cmd" || n == "internal":
			sub, err := os.ReadDir(filepath.Join(root, n))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sub {
				if s.IsDir() {
					tree = append(tree, n+"/"+s.Name())
				}
			}
		default:
			tree = append(tree, n)
		}
	}
	slices.Sort(tree)
	for _, dir := range tree {
		if !listed[dir] {
			t.Errorf("%s has no row in the README's folder table", dir)
		}
	}
}
