// Package drawvectors locates the DRAW-SPEC test vectors for tests: the
// project's own copy in testdata/draw-vectors, or the folder named by
// SPOTCHECK_DRAW_VECTORS, so that an auditor can run the suite on vectors of
// their own. The vectors are part of the published contract, so a missing
// folder fails the test instead of skipping it.
package drawvectors

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Env names the variable that points the tests at another vectors folder.
const Env = "SPOTCHECK_DRAW_VECTORS"

// Dir returns the vectors folder, failing tb when it holds no vectors.json.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := find()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// File returns the path of one file of the vectors folder.
func File(tb testing.TB, name string) string {
	tb.Helper()
	return filepath.Join(Dir(tb), name)
}

func find() (string, error) {
	dir := os.Getenv(Env)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "testdata", "draw-vectors")
	}
	if _, err := os.Stat(filepath.Join(dir, "vectors.json")); err != nil {
		return "", fmt.Errorf("draw vectors (set %s to use another folder): %w", Env, err)
	}
	return dir, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
