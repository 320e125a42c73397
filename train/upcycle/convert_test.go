package upcycle

// Upcycling preserves the dense function, and each method and option builds the experts it says.
//
// Mutations tried, and the test that catches each:
//   - sqrt(G) split into three cube roots over w1, w3 and w2 (Megatron's form), or put on w1 instead
//     of w3: TestConvertPreservesFunction (granular logits off by ~1), TestConvertExpertLayout.
//   - one router row per expert instead of per copy: TestConvertPreservesFunction, TestConvertExpertLayout.
//   - every expert holding shard 0: TestConvertPreservesFunction, TestConvertExpertLayout, TestCarryOptimizer.
//   - w2 of the routed experts, or of the shared expert, not halved: TestConvertPreservesFunction,
//     TestConvertSharedExpert (and TestBTXMixesSources for the routed one).
//   - the shared w1 not the dense w1: TestConvertPreservesFunction, TestConvertSharedExpert,
//     TestBTXMixesSources, TestConfigWiringUpcycle.
//   - upcycle.noise_std ignored: TestConvertSharedExpert, TestConfigWiringUpcycle; noise added to the
//     moments too: TestCarryOptimizer.
//   - upcycle.router_init_std ignored (0.02 always): TestConvertExpertLayout, TestConfigWiringUpcycle.
//   - drop: one neuron set for every expert, ceil instead of round for the count, mean-0 or init_std
//     draws, rows of w2 dropped instead of columns: TestConvertDrop; dropped neurons' moments not
//     zero: TestCarryOptimizerDrop.
//   - btx: experts interleaved (e mod S) instead of in blocks, or the first source's weights instead
//     of the average: TestBTXMixesSources.
//   - kept MoE layers losing their expert bias: TestAllowMoESource.
//   - a missing moment read as the weight instead of zero: TestCarryOptimizerOff; moments carried
//     without upcycle.carry_optimizer: TestCarryOptimizerOff, TestConfigWiringUpcycle.
//   - an MoE source accepted without upcycle.allow_moe_source, model.ffn_hidden_size never compared,
//     shared experts accepted without upcycle.shared_expert, btx with E not a multiple of S, and no
//     target validation at all: TestConvertRefuses.
//   - ActiveParams leaving out one expert too many: TestParamCounts.
//   - an upcycle.* key without a check here: TestConfigWiringUpcycle; without a wiring entry, or with
//     one whose --set leaves the upcycle settings as they were: train's TestConfigWiringModel.

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// TestConvertPreservesFunction: with renormalised top-k routing, no noise and no drop, the upcycled
// model's logits and LM loss are the dense model's, for copy, granular at G = 2 and 4, with a
// shared expert, with interleaved MoE layers and with every router type that renormalises.
func TestConvertPreservesFunction(t *testing.T) {
	cases := []struct {
		name string
		sets []string
	}{
		{"copy", []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32"}},
		{"copy top-1", []string{"moe.num_experts=4", "moe.top_k=1", "moe.expert_ffn_hidden_size=32"}},
		{"granular G=2", []string{"moe.num_experts=8", "moe.top_k=2", "moe.expert_ffn_hidden_size=16",
			"upcycle.method=granular", "upcycle.granularity=2"}},
		{"granular G=4", []string{"moe.num_experts=8", "moe.top_k=4", "moe.expert_ffn_hidden_size=8",
			"upcycle.method=granular", "upcycle.granularity=4"}},
		{"granular G=4, K=8", []string{"moe.num_experts=16", "moe.top_k=8", "moe.expert_ffn_hidden_size=8",
			"upcycle.method=granular", "upcycle.granularity=4"}},
		{"shared expert", []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32",
			"moe.shared_experts=1", "upcycle.shared_expert=true"}},
		{"granular G=2 with shared experts", []string{"moe.num_experts=8", "moe.top_k=2", "moe.expert_ffn_hidden_size=16",
			"moe.shared_experts=2", "upcycle.shared_expert=true", "upcycle.method=granular", "upcycle.granularity=2"}},
		{"interleaved", []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "moe.layer_freq=2"}},
		{"interleaved from layer 1", []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "moe.layer_freq=[0,1]"}},
		{"sigmoid router", []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "moe.router.type=sigmoid"}},
		{"noisy_topk router", []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "moe.router.type=noisy_topk"}},
		{"btx of one source", []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "upcycle.method=btx"}},
		{"larger router init", []string{"moe.num_experts=8", "moe.top_k=2", "moe.expert_ffn_hidden_size=16",
			"upcycle.method=granular", "upcycle.granularity=2", "upcycle.router_init_std=1"}},
	}
	dense := loadConfig(t)
	for _, dt := range []autograd.DType{autograd.Float32, autograd.Float64} {
		tol := map[autograd.DType]float64{autograd.Float32: 1e-5, autograd.Float64: 1e-10}[dt]
		src := newSource(t, "dense", dense, dt, 11)
		wantLogits, wantLoss := forward(src.Model)
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%v %s", dt, tc.name), func(t *testing.T) {
				res := mustConvert(t, moeTarget(t, tc.sets...), src)
				if len(res.Converted) == 0 {
					t.Fatal("no layer converted")
				}
				logits, loss := forward(res.Model)
				if d := maxDiff(logits, wantLogits); !(d < tol) {
					t.Errorf("logits differ from the dense model's by up to %g (tolerance %g)", d, tol)
				}
				if d := math.Abs(loss - wantLoss); !(d < tol) {
					t.Errorf("LM loss %v, dense %v: |diff| %g (tolerance %g)", loss, wantLoss, d, tol)
				}
			})
		}
	}
}

// TestConvertLayers: Converted names the layers that became MoE, the dense layers between them keep
// the source's MLP, and the converted model is in the sources' dtype.
func TestConvertLayers(t *testing.T) {
	dense := loadConfig(t, "model.n_layers=4")
	src := newSource(t, "dense", dense, autograd.Float32, 3)
	res := mustConvert(t, moeTarget(t, "model.n_layers=4", "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32",
		"moe.layer_freq=[0,1,1,0]"), src)
	if !slices.Equal(res.Converted, []int{1, 2}) {
		t.Errorf("Converted = %v, want [1 2]", res.Converted)
	}
	for _, i := range []int{0, 3} {
		if blk := res.Model.Blocks[i]; blk.MoE != nil || !slices.Equal(values(blk.MLP.W2.W), values(src.Model.Blocks[i].MLP.W2.W)) {
			t.Errorf("layer %d: not the source's dense MLP", i)
		}
	}
	if got := res.Model.Params()[0].DType(); got != autograd.Float32 {
		t.Errorf("dtype %v, want float32", got)
	}
	// Without a dense layer left, the target's model.ffn_hidden_size is unused and need not match.
	all := mustConvert(t, moeTarget(t, "model.n_layers=4", "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32",
		"model.ffn_hidden_size=0"), src)
	if !slices.Equal(all.Converted, []int{0, 1, 2, 3}) {
		t.Errorf("every layer MoE: Converted = %v", all.Converted)
	}
}

// TestConvertExpertLayout: expert c·G+j holds shard j of the FFN (rows of w1 and w3, columns of w2),
// with w3 and w2 times sqrt(G) and w1 as it is, and the G experts of a copy share one router row,
// while the rows of different copies differ and have about router_init_std's spread.
func TestConvertExpertLayout(t *testing.T) {
	const g, fe, ne, std = 4, 8, 8, 0.5
	dense := loadConfig(t)
	src := newSource(t, "dense", dense, autograd.Float64, 4)
	res := mustConvert(t, moeTarget(t, "moe.num_experts=8", "moe.top_k=4", "moe.expert_ffn_hidden_size=8",
		"upcycle.method=granular", "upcycle.granularity=4", fmt.Sprintf("upcycle.router_init_std=%g", std)), src)
	for _, i := range res.Converted {
		mlp, moe := src.Model.Blocks[i].MLP, res.Model.Blocks[i].MoE
		for e := range ne {
			j := e % g
			for r := range fe {
				n := j*fe + r // the dense neuron expert e's neuron r is
				if got, want := expertRow(moe.Experts.W1, e, r), expertRow(mlp.W1.W, 0, n); !slices.Equal(got, want) {
					t.Fatalf("layer %d expert %d: w1 row %d is not dense row %d", i, e, r, n)
				}
				if got, want := expertRow(moe.Experts.W3, e, r), scaled(expertRow(mlp.W3.W, 0, n), 2); maxDiff(got, want) > 1e-15 {
					t.Fatalf("layer %d expert %d: w3 row %d is not 2 x dense row %d", i, e, r, n)
				}
				if got, want := column(moe.Experts.W2, e, r), scaled(column(mlp.W2.W, 0, n), 2); maxDiff(got, want) > 1e-15 {
					t.Fatalf("layer %d expert %d: w2 column %d is not 2 x dense column %d", i, e, r, n)
				}
			}
		}
		gate := moe.Router.Params()[0] // [E, D]
		rows := make([][]float64, ne)
		for e := range rows {
			rows[e] = values(gate)[e*16 : (e+1)*16]
		}
		for e := range ne {
			if same := slices.Equal(rows[e], rows[e-e%g]); !same {
				t.Errorf("layer %d: router row %d differs from row %d of its copy", i, e, e-e%g)
			}
		}
		if slices.Equal(rows[0], rows[g]) {
			t.Errorf("layer %d: copies 0 and 1 share a router row", i)
		}
		_, sd := meanStd(gate)
		if math.Abs(sd-std) > 0.3*std { // 2 independent rows of 16: a loose bound that still tells 0.5 from 0.02
			t.Errorf("layer %d: router rows have std %.3f, want about %g", i, sd, std)
		}
	}
}

// TestConvertSharedExpert: the shared expert is the dense FFN with w2 halved, and so is w2 of every
// routed expert; noise reaches the routed experts only.
func TestConvertSharedExpert(t *testing.T) {
	dense := loadConfig(t)
	src := newSource(t, "dense", dense, autograd.Float64, 6)
	res := mustConvert(t, moeTarget(t, "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32",
		"moe.shared_experts=1", "upcycle.shared_expert=true", "upcycle.noise_std=0.01"), src)
	for _, i := range res.Converted {
		mlp, moe := src.Model.Blocks[i].MLP, res.Model.Blocks[i].MoE
		if !slices.Equal(values(moe.Shared.W1.W), values(mlp.W1.W)) || !slices.Equal(values(moe.Shared.W3.W), values(mlp.W3.W)) {
			t.Errorf("layer %d: shared w1, w3 are not the dense FFN's", i)
		}
		if d := maxDiff(values(moe.Shared.W2.W), scaled(values(mlp.W2.W), 0.5)); d != 0 {
			t.Errorf("layer %d: shared w2 is not half the dense w2 (max diff %g)", i, d)
		}
		routed := values(moe.Experts.W2)[:mlp.W2.W.Len()] // expert 0's w2 [D, F]
		if d := maxDiff(routed, scaled(values(mlp.W2.W), 0.5)); !(d > 0 && d < 0.06) {
			t.Errorf("layer %d: routed w2 is %g from half the dense w2, want noise of std 0.01", i, d)
		}
	}
}
