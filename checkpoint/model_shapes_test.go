package checkpoint_test

// Mutations caught: swapping w2's dimensions in eachModelTensor, listing
// lm_head when embeddings are tied, or giving k/v the query heads' width makes
// TestModelShapesMatchTheModel fail; dropping the n_layers bound in
// CheckModelShapes makes TestCheckModelShapesRefusesClaimsTheFileLacks fail
// (it then walks 4,000 layers and reports missing tensors instead).

import (
	"strings"
	"testing"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/train"
)

func smallConfig(edit func(c *configs.Config)) *configs.Config {
	c := configs.Default()
	c.Model.VocabSize, c.Model.DModel, c.Model.NLayers, c.Model.NHeads, c.Model.NKVHeads = 300, 32, 3, 4, 2
	c.Model.FFNHiddenSize, c.MoE.ExpertFFNHiddenSize = 48, 24
	c.Model.MaxSeqLen, c.Train.SeqLen = 64, 32
	edit(c)
	return c
}

// TestModelShapesMatchTheModel: the shapes CheckModelShapes expects are those
// of the parameters the model builds, for dense, MoE, hybrid, per-layer expert
// counts, shared experts and tied embeddings.
func TestModelShapesMatchTheModel(t *testing.T) {
	cases := map[string]func(c *configs.Config){
		"dense": func(c *configs.Config) {
			c.MoE.NumExperts = configs.Experts(0)
			c.MoE.LayerFreq = configs.EveryLayer(0)
		},
		"moe": func(c *configs.Config) {
			c.MoE.NumExperts = configs.Experts(4)
			c.MoE.LayerFreq = configs.EveryLayer(1)
		},
		"hybrid per-layer": func(c *configs.Config) {
			c.MoE.NumExperts, c.MoE.LayerFreq, c.MoE.TopK = configs.ExpertsPerLayer(4, 6), configs.EveryLayer(2), 2
		},
		"shared tied": func(c *configs.Config) {
			c.MoE.NumExperts, c.MoE.LayerFreq, c.MoE.SharedExperts = configs.Experts(4), configs.EveryLayer(1), 2
			c.Model.TieEmbeddings = true
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			c := smallConfig(edit)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			m, err := train.NewModel(c)
			if err != nil {
				t.Fatal(err)
			}
			ts := train.ModelTensors(m)
			if err := checkpoint.CheckModelShapes(c, checkpoint.TensorShapes(ts), "model.safetensors"); err != nil {
				t.Fatal(err)
			}
			// Every tensor the model holds but the check does not list is
			// small router state, not a weight sized by the configuration.
			other := smallConfig(edit)
			other.Model.DModel = 64
			if err := checkpoint.CheckModelShapes(other, checkpoint.TensorShapes(ts), "model.safetensors"); err == nil {
				t.Error("a d_model the tensors do not have was accepted")
			}
		})
	}
}

func TestCheckModelShapesRefusesClaimsTheFileLacks(t *testing.T) {
	c := smallConfig(func(c *configs.Config) {
		c.MoE.NumExperts = configs.Experts(0)
		c.MoE.LayerFreq = configs.EveryLayer(0)
	})
	m, err := train.NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	have := checkpoint.TensorShapes(train.ModelTensors(m))
	big := smallConfig(func(c *configs.Config) {
		c.MoE.NumExperts = configs.Experts(0)
		c.MoE.LayerFreq = configs.EveryLayer(0)
	})
	big.Model.NLayers = 4000
	err = checkpoint.CheckModelShapes(big, have, "step/model.safetensors")
	if err == nil || !strings.Contains(err.Error(), "model.n_layers = 4000") || !strings.Contains(err.Error(), "step/model.safetensors") {
		t.Errorf("4000 layers over a 3-layer file: %v", err)
	}
	wide := smallConfig(func(c *configs.Config) {
		c.MoE.NumExperts = configs.Experts(0)
		c.MoE.LayerFreq = configs.EveryLayer(0)
	})
	wide.Model.DModel, wide.Model.VocabSize = 65536, 50000
	err = checkpoint.CheckModelShapes(wide, have, "step/model.safetensors")
	if err == nil || !strings.Contains(err.Error(), `"embed_tokens.weight" is [300 32], the configuration needs [50000 65536]`) || !strings.Contains(err.Error(), "more") {
		t.Errorf("d_model 65536 over a d_model 32 file: %v", err)
	}
	if len(err.Error()) > 1500 {
		t.Errorf("message of %d bytes", len(err.Error()))
	}
}
