// Command keys prints n valid unified social credit codes of Jiaxing's
// counties, one a line, the same for the same seed: the object keys of the
// API benchmark, so that its search by credit code searches real codes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

func main() {
	n := flag.Int("n", 10000, "codes")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	r := rand.New(rand.NewPCG(*seed, 8))
	regions := []string{"330402", "330411", "330421", "330424", "330481", "330482", "330483"}
	w := bufio.NewWriter(os.Stdout)
	seen := map[string]bool{}
	for i := 0; len(seen) < *n; i++ {
		k := uscc.Generate(r, regions[i%len(regions)])
		if !seen[k] {
			seen[k] = true
			fmt.Fprintf(w, "%d\t%s\n", len(seen), k)
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
