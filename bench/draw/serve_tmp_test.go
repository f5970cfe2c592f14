package drawbench

import (
	"os"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func BenchmarkServeTmp(b *testing.B) {
	if os.Getenv("SERVE_TMP") == "" {
		b.Skip()
	}
	db := testenv.DB(b)
	load(b, db)
	os.WriteFile("/tmp/bench-db-url", []byte(testenv.DatabaseURL(b)), 0o644)
	time.Sleep(90 * time.Minute)
}
