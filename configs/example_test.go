package configs_test

import (
	"fmt"

	"github.com/moetrain/moetrain/configs"
)

// Load the tiny preset, override two keys as `--set` and the environment would, and read the
// per-layer MoE layout.
func ExampleLoad() {
	cfg, err := configs.Load(configs.LoadOptions{
		ConfigRef: "tiny",
		Env:       []string{"MOETRAIN_TRAIN_LR=0.001", "HOME=/home/me"},
		Sets:      []string{"moe.layer_freq=[1,0,1,0]", "moe.num_experts=[8,16]"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("lr:", cfg.Train.LR)
	for i, moe := range cfg.MoELayers() {
		fmt.Printf("layer %d: moe=%v experts=%d\n", i, moe, cfg.ExpertsForLayer(i))
	}
	// Output:
	// lr: 0.001
	// layer 0: moe=true experts=8
	// layer 1: moe=false experts=0
	// layer 2: moe=true experts=16
	// layer 3: moe=false experts=0
}

// Every problem is reported at once, each naming the key, the value, where it came from and what to do.
func ExampleLoad_errors() {
	_, err := configs.Load(configs.LoadOptions{
		ConfigRef: "tiny",
		Sets:      []string{"train.lr=abc", "model.d_modle=64"},
	})
	fmt.Println(err)
	// Output:
	// 2 problems in the configuration:
	//   - train.lr: cannot parse "abc" as a number (--set train.lr=abc); give a decimal number such as 0.1 or 3e-4
	//   - model.d_modle: unknown key (--set model.d_modle=64); did you mean "model.d_model"?
}

func ExampleConfig_YAML() {
	cfg := configs.Default()
	cfg.MoE.LayerFreq = configs.EveryLayer(2)
	data, err := cfg.YAML()
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := configs.FromYAML(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.MoELayers(), back.NumMoELayers())
	// Output: [true false true false] 2
}
