package upcycle

import (
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// TestAllowMoESource: with allow_moe_source an MoE layer of the source is kept weight for weight,
// expert bias included, its dense layers are upcycled, and the model's function is preserved.
func TestAllowMoESource(t *testing.T) {
	moe := []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "moe.router.expert_bias=true"}
	hybridCfg := moeTarget(t, append(slices.Clone(moe), "moe.layer_freq=[1,0]")...)
	src := newSource(t, "runs/hybrid", hybridCfg, autograd.Float64, 31)
	bias := []float32{0.01, -0.02, 0.03, 0}
	if err := src.Model.Blocks[0].MoE.Router.SetBias(bias); err != nil {
		t.Fatal(err)
	}
	wantLogits, wantLoss := forward(src.Model)
	res := mustConvert(t, moeTarget(t, append(slices.Clone(moe), "upcycle.allow_moe_source=true")...), src)
	if !slices.Equal(res.Converted, []int{1}) {
		t.Fatalf("Converted = %v, want [1]", res.Converted)
	}
	kept, orig := res.Model.Blocks[0].MoE, src.Model.Blocks[0].MoE
	for k, p := range kept.Params() {
		if q := orig.Params()[k]; p.Name != q.Name || !slices.Equal(values(p), values(q)) {
			t.Errorf("kept layer 0: %s is not the source's %s", p.Name, q.Name)
		}
	}
	if got := kept.Router.Bias(); !slices.Equal(got, bias) {
		t.Errorf("kept layer 0: expert bias %v, want %v", got, bias)
	}
	logits, loss := forward(res.Model)
	if d := maxDiff(logits, wantLogits); d > 1e-10 {
		t.Errorf("logits differ from the source's by %g", d)
	}
	if d := loss - wantLoss; d > 1e-10 || d < -1e-10 {
		t.Errorf("LM loss %v, source %v", loss, wantLoss)
	}
}
