package bulk

import (
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
