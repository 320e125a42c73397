package upcycle

import (
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/train"
)

// TestParamCounts: the summary's counts. A dense model is all active; an upcycled one leaves E-K
// routed experts per MoE layer inactive; and the active count exceeds train's ActiveMatmulParams by
// the same embedding and norm parameters (tied head counted once) before and after, so the two count
// the same experts, shared experts and router.
func TestParamCounts(t *testing.T) {
	for _, tied := range []string{"false", "true"} {
		dense := loadConfig(t, "model.tie_embeddings="+tied)
		src := newSource(t, "dense", dense, autograd.Float32, 41)
		target := moeTarget(t, "model.tie_embeddings="+tied, "moe.num_experts=8", "moe.top_k=2", "moe.expert_ffn_hidden_size=16",
			"moe.shared_experts=2", "upcycle.shared_expert=true", "upcycle.method=granular", "upcycle.granularity=2", "moe.layer_freq=2")
		res := mustConvert(t, target, src)
		const d, fe, ne, k = 16, 16, 8, 2
		expert := 3 * d * fe
		wantAfter := res.ParamsBefore - 3*d*32 + ne*expert + ne*d + 2*expert // layer 0: the MLP becomes 8 experts, a router and a shared pair
		if res.ParamsBefore != src.Model.NumParams() || res.ActiveBefore != res.ParamsBefore {
			t.Errorf("tied %s: before %d total, %d active; want %d for both", tied, res.ParamsBefore, res.ActiveBefore, src.Model.NumParams())
		}
		if res.ParamsAfter != wantAfter || res.ParamsAfter != res.Model.NumParams() {
			t.Errorf("tied %s: after %d total, want %d", tied, res.ParamsAfter, wantAfter)
		}
		if want := res.ParamsAfter - (ne-k)*expert; res.ActiveAfter != want {
			t.Errorf("tied %s: after %d active, want %d", tied, res.ActiveAfter, want)
		}
		before := res.ActiveBefore - train.ActiveMatmulParams(dense)
		after := res.ActiveAfter - train.ActiveMatmulParams(target)
		if before != after {
			t.Errorf("tied %s: active - matmul-active = %d before, %d after", tied, before, after)
		}
	}
}
