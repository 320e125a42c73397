package data_test

import (
	"fmt"
	"slices"

	"github.com/moetrain/moetrain/data"
)

// The trainer's path: load tokens (here the embedded corpus), split them, and
// draw shuffled batches; the sampler's state goes into each checkpoint.
func Example() {
	stream, err := data.Load(data.LoadOptions{}) // embedded corpus, byte tokenizer
	if err != nil {
		panic(err)
	}
	ds, err := data.NewDataset(stream.Tokens, data.DatasetOptions{SeqLen: 64, ValFraction: 0.1})
	if err != nil {
		panic(err)
	}
	sampler := ds.NewSampler(1234)
	inputs, targets := sampler.Next(8) // [8, 64] each, flattened
	fmt.Println(stream.Tokenizer.Name(), stream.Tokenizer.VocabSize(), len(inputs), len(targets))
	fmt.Println(inputs[1] == targets[0]) // targets are the inputs shifted by one
	fmt.Printf("%+v\n", sampler.State())

	resumed := ds.NewSampler(0)
	if err := resumed.Restore(sampler.State()); err != nil {
		panic(err)
	}
	a, _ := sampler.Next(8)
	b, _ := resumed.Next(8)
	fmt.Println(slices.Equal(a, b))
	// Output:
	// byte 256 512 512
	// true
	// {Seed:1234 Epoch:0 Position:8 Windows:6404}
	// true
}

// Prepare writes shards once; training runs then load them (checked against the
// manifest) instead of re-reading and re-tokenizing the input.
func ExamplePrepare() {
	dir, cleanup := tempDir()
	defer cleanup()
	m, err := data.Prepare(data.PrepareOptions{Tokenizer: "byte", Out: dir}) // the embedded corpus
	if err != nil {
		panic(err)
	}
	stream, err := data.Load(data.LoadOptions{Input: dir})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.TokenizerName, m.VocabSize, len(m.Shards), m.Tokens == int64(len(stream.Tokens)))
	// Output: byte 256 1 true
}

// Text and byte tokens map one to one.
func ExampleByteTokenizer() {
	var tok data.ByteTokenizer
	ids := tok.Encode("Hi!")
	fmt.Println(ids, tok.Decode(ids))
	// Output: [72 105 33] Hi!
}
