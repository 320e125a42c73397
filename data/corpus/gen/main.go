// Command gen writes the embedded default corpus: prose.Generate with the
// default seed and size. Run it through `go generate ./data/corpus`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/moetrain/moetrain/data/corpus/prose"
)

func main() {
	out := flag.String("out", "default.txt", "file to write")
	flag.Parse()
	text := prose.Generate(prose.DefaultSeed, prose.DefaultSize)
	if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
