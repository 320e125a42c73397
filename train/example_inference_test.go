package train_test

import (
	"fmt"
	"log"
	"os"

	"gorgonia.org/tensor"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/train"
)

// exampleRun writes a step-0 checkpoint of a small untrained MoE model into a
// new run directory, standing in for a run of moetrain pretrain.
func exampleRun() string {
	cfg, err := configs.Load(configs.LoadOptions{ConfigRef: "tiny", Sets: []string{
		"model.d_model=32", "model.n_layers=2", "model.n_heads=2", "model.n_kv_heads=1",
		"model.max_seq_len=16", "moe.num_experts=4", "moe.expert_ffn_hidden_size=32", "train.seq_len=16",
	}})
	if err != nil {
		log.Fatal(err)
	}
	m, err := train.NewModel(cfg)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "moetrain-example-")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := train.NewInference(cfg, m).Save(dir); err != nil {
		log.Fatal(err)
	}
	return dir
}

// Open a run, run a forward pass on byte ids and read the logits as a
// gorgonia tensor.
func ExampleOpenInference() {
	run := exampleRun()
	defer os.RemoveAll(run)

	inf, err := train.OpenInference(run) // a run dir, its checkpoints/ dir or a step dir
	if err != nil {
		log.Fatal(err)
	}
	logits, err := inf.Logits([][]int32{[]int32("The miller"), []int32("The walker")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logits", logits.Shape(), logits.Dtype())

	// The model is causal: where the rows agree so far ("The "), so do their
	// next-token logits, and at "m" against "w" they part.
	same := func(pos int) bool {
		a, err := logits.Slice(tensor.S(0), tensor.S(pos)) // [V]
		if err != nil {
			log.Fatal(err)
		}
		b, err := logits.Slice(tensor.S(1), tensor.S(pos))
		if err != nil {
			log.Fatal(err)
		}
		d, err := tensor.Sub(a, b)
		if err == nil {
			d, err = tensor.Abs(d)
		}
		if err != nil {
			log.Fatal(err)
		}
		m, err := d.(*tensor.Dense).Max()
		if err != nil {
			log.Fatal(err)
		}
		return m.ScalarValue().(float32) < 1e-5
	}
	fmt.Println("position 3 equal:", same(3), "position 4 equal:", same(4))
	// Output:
	// logits (2, 10, 256) float32
	// position 3 equal: true position 4 equal: false
}

// Read a weight by its checkpoint name, change it with gorgonia, and hand it
// back.
func ExampleInference_SetWeight() {
	run := exampleRun()
	defer os.RemoveAll(run)
	inf, err := train.OpenInference(run)
	if err != nil {
		log.Fatal(err)
	}

	const name = "layers.0.moe.experts.w1" // [E, D, F]
	w, err := inf.Weight(name)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(name, w.Shape())
	halved, err := w.MulScalar(float32(0.5), true)
	if err != nil {
		log.Fatal(err)
	}
	if err := inf.SetWeight(name, halved); err != nil {
		log.Fatal(err)
	}
	back, err := inf.Weight(name)
	if err != nil {
		log.Fatal(err)
	}
	a, _ := w.At(1, 2, 3) // in range: At fails only outside the shape
	b, _ := back.At(1, 2, 3)
	fmt.Println("halved:", b.(float32) == a.(float32)/2)

	// The wrong shape is refused, with the shape to use.
	err = inf.SetWeight(name, tensor.New(tensor.WithShape(4, 32), tensor.Of(tensor.Float32)))
	fmt.Println(err)
	// Output:
	// layers.0.moe.experts.w1 (4, 32, 32)
	// halved: true
	// weight "layers.0.moe.experts.w1": shape [4 32], the model's is [4 32 32]; reshape or transpose it to [4 32 32]
}

// List the weights a checkpoint holds.
func ExampleInference_Weights() {
	run := exampleRun()
	defer os.RemoveAll(run)
	inf, err := train.OpenInference(run)
	if err != nil {
		log.Fatal(err)
	}
	for _, w := range inf.Weights()[:6] {
		fmt.Println(w.Name, w.Shape)
	}
	fmt.Println(len(inf.Weights()), "weights")
	// Output:
	// embed_tokens.weight [256 32]
	// layers.0.input_layernorm.weight [32]
	// layers.0.self_attn.q_proj.weight [32 32]
	// layers.0.self_attn.k_proj.weight [16 32]
	// layers.0.self_attn.v_proj.weight [16 32]
	// layers.0.self_attn.o_proj.weight [32 32]
	// 23 weights
}
