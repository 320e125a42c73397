package data_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/moetrain/moetrain/data"
)

// Fine-tuning data: prompt/completion records packed into windows whose
// targets are -100 (data.IgnoreTarget) except on completions.
func ExampleLoadFinetune() {
	dir, err := os.MkdirTemp("", "finetune")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sums.jsonl")
	records := `{"prompt": "1+1=", "completion": "2"}
{"prompt": "2+2=", "completion": "4"}
`
	if err := os.WriteFile(path, []byte(records), 0o644); err != nil {
		panic(err)
	}
	set, err := data.LoadFinetune(path, data.ByteTokenizer{}, data.FinetuneOptions{Pack: data.PackOptions{SeqLen: 6}})
	if err != nil {
		panic(err)
	}
	fmt.Println(set.Format(), set.TrainCounts())
	inputs, targets := set.NewSampler(1).Next(1) // [1, 6] each
	fmt.Printf("%q\n%v\n", data.ByteTokenizer{}.Decode(inputs), targets)
	// Output:
	// prompt_completion 2 documents, 12 tokens (4 trained), 2 windows, 0 truncated, 0 split
	// "2+2=4\xff"
	// [-100 -100 -100 52 255 -100]
}
