package checkpoint

// tools/peft_check.py against the Go model. Mutations caught (each tried
// once and watched to fail):
//   - lora_alpha written unfolded for rsLoRA: TestPEFTCheckMatchesModel
//     (mixtral, whose adapter is rsLoRA).
//   - expertSlice copying expert 0 for every expert: TestPEFTCheckMatchesModel.
//   - the script's moe() without renormalising the top-k weights:
//     TestPEFTCheckMatchesModel (the base losses differ).
//   - the script's Llama MLP with gate_proj and up_proj swapped:
//     TestPEFTCheckMatchesModel (llama).
//   - the script's scale lora_alpha instead of lora_alpha/r:
//     TestPEFTCheckMatchesModel.

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
)

// peftCheckScript is tools/peft_check.py from this package's directory.
const peftCheckScript = "../tools/peft_check.py"

// torchPython returns a Python that imports torch: python3 on PATH, else
// Debian's /usr/bin/python3 (which python3-torch installs into when
// another python3 comes first on PATH). Without one the test is skipped,
// or fails under CI=true.
func torchPython(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			tried = append(tried, py+": not found")
			continue
		}
		out, err := exec.Command(path, "-c", "import torch").CombinedOutput()
		if err == nil {
			return path
		}
		tried = append(tried, fmt.Sprintf("%s: %s", path, strings.TrimSpace(lastLine(string(out)))))
	}
	msg := "no Python with PyTorch (" + strings.Join(tried, "; ") + "): install it with apt-get install python3-torch"
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg + " (CI=true makes this a failure)")
	return ""
}

// lastLine returns s's last non-empty line.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// peftCheckText is the evaluation text (bytes are tokens).
const peftCheckText = `First Citizen: Before we proceed any further, hear me speak.
All: Speak, speak. First Citizen: You are all resolved rather to die than to famish?
All: Resolved. resolved. First Citizen: First, you know Caius Marcius is chief enemy to the people.`

// peftCheckResult is what tools/peft_check.py prints.
type peftCheckResult struct {
	Loss    float64 `json:"loss"`
	Tokens  int     `json:"tokens"`
	Adapted int     `json:"adapted_modules"`
}

// runPEFTCheck runs the script on the HF export and, unless adapter is "",
// the adapter.
func runPEFTCheck(t *testing.T, py, hf, adapter, text string, seqLen int) peftCheckResult {
	t.Helper()
	args := []string{peftCheckScript, "--model", hf, "--text", text, "--seq-len", fmt.Sprint(seqLen), "--batch", "3"}
	if adapter != "" {
		args = append(args, "--adapter", adapter)
	}
	out, err := exec.Command(py, args...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s", py, strings.Join(args, " "), err, stderr)
	}
	var res peftCheckResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("peft_check printed %q: %v", out, err)
	}
	return res
}

// goWindowLoss is the model's mean next-token loss over the windows the
// script cuts (seqLen+1 tokens every seqLen, then a shorter tail).
func goWindowLoss(m *layers.Model, tokens []int32, seqLen int) (float64, int) {
	var sum float64
	var count int
	eval := func(in, tg []int32) {
		tp := autograd.NewNoGradTape()
		out := m.Forward(tp, in, 1, len(in), layers.ForwardOptions{})
		sum += tp.CrossEntropy(out.Logits, tg, -100).Item() * float64(len(tg))
		count += len(tg)
	}
	start := 0
	for ; start+seqLen+1 <= len(tokens); start += seqLen {
		eval(tokens[start:start+seqLen], tokens[start+1:start+seqLen+1])
	}
	if len(tokens)-start >= 2 {
		eval(tokens[start:len(tokens)-1], tokens[start+1:])
	}
	return sum / float64(count), count
}

// roundToFloat32 rounds every value of ts to float32, so that a float64
// model computes on exactly the values the float32 files hold.
func roundToFloat32(ts []*autograd.Tensor) {
	for _, p := range ts {
		for i := range p.Len() {
			p.Set(i, float64(float32(p.At(i))))
		}
	}
}

// peftConfigsConfig is the configuration ExportHF needs for
// peftModelConfig(moe), as ImportHF would read it back.
func peftConfigsConfig(moe bool) *hfConfig {
	hc := &hfConfig{ModelType: "llama", VocabSize: pV, HiddenSize: pD, IntermediateSize: pF, NumHiddenLayers: pL,
		NumAttentionHeads: pH, NumKeyValueHeads: pKV, MaxPositionEmbeddings: 32, RopeTheta: 10000, RMSNormEps: 1e-5,
		HiddenAct: "silu", InitializerRange: 0.2}
	if moe {
		hc.ModelType, hc.IntermediateSize, hc.NumLocalExperts, hc.NumExpertsPerTok = "mixtral", pFE, pE, 2
	}
	return hc
}

// TestPEFTCheckMatchesModel: tools/peft_check.py, reading only the HF
// export and the PEFT adapter files, computes the Go model's loss with its
// LoRA adapters attached (rsLoRA folded into alpha for the Mixtral model,
// every expert adapted; the dense MLP's gate/up/down_proj for the Llama
// model), within 1e-9; the base model's too, which the adapter moves by far
// more than that. LoadAdapter's tensors then give a fresh model the same
// loss.
func TestPEFTCheckMatchesModel(t *testing.T) {
	py := torchPython(t)
	for _, tc := range []struct {
		name string
		moe  bool
		lc   layers.LoRAConfig
	}{
		{"mixtral", true, layers.LoRAConfig{Rank: 3, Alpha: 5, Targets: moeTargets, RSLoRA: true}},
		{"llama", false, layers.LoRAConfig{Rank: 2, Alpha: 3, Dropout: 0.1, Targets: []string{layers.TargetK, layers.TargetO, layers.TargetGateProj, layers.TargetUpProj, layers.TargetDownProj}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			text := filepath.Join(dir, "text.txt")
			if err := os.WriteFile(text, []byte(peftCheckText), 0o644); err != nil {
				t.Fatal(err)
			}
			tokens := make([]int32, len(peftCheckText))
			for i := range tokens {
				tokens[i] = int32(peftCheckText[i])
			}
			const seqLen = 24 // several windows and a shorter tail

			cfg, err := configFromHF(peftConfigsConfig(tc.moe))
			if err != nil {
				t.Fatal(err)
			}
			m := adaptedModel(t, tc.moe, tc.lc, autograd.Float64)
			roundToFloat32(m.Params())
			roundToFloat32(m.Adapters())
			params := map[string]*autograd.Tensor{}
			for _, p := range m.Params() {
				params[p.Name] = p
			}
			hf, adapter := filepath.Join(dir, "hf"), filepath.Join(dir, "adapter")
			if err := ExportHF(hf, cfg, params); err != nil {
				t.Fatal(err)
			}
			if err := SaveAdapter(adapter, adapterConfigOf(tc.lc, hf), adapterMap(m)); err != nil {
				t.Fatal(err)
			}

			goLoss, goTokens := goWindowLoss(m, tokens, seqLen)
			got := runPEFTCheck(t, py, hf, adapter, text, seqLen)
			sites := 0
			for _, a := range m.Adapters() {
				if strings.HasSuffix(a.Name, ".lora_A") {
					sites += max(1, a.Len()/(a.Dim(-2)*a.Dim(-1))) // one PEFT module per expert
				}
			}
			if got.Tokens != goTokens || got.Tokens != len(tokens)-1 || got.Adapted != sites {
				t.Errorf("script: %d tokens, %d modules; want %d tokens, %d modules", got.Tokens, got.Adapted, goTokens, sites)
			}
			if d := math.Abs(got.Loss - goLoss); d > 1e-9*goLoss {
				t.Errorf("adapted loss: script %.12f, Go %.12f (|diff| %.3g)", got.Loss, goLoss, d)
			}

			base, err := layers.New(peftModelConfig(tc.moe), autograd.Float64, 3)
			if err != nil {
				t.Fatal(err)
			}
			if err := assignParams(base, params); err != nil {
				t.Fatal(err)
			}
			baseLoss, _ := goWindowLoss(base, tokens, seqLen)
			gotBase := runPEFTCheck(t, py, hf, "", text, seqLen)
			if d := math.Abs(gotBase.Loss - baseLoss); d > 1e-9*baseLoss {
				t.Errorf("base loss: script %.12f, Go %.12f", gotBase.Loss, baseLoss)
			}
			if math.Abs(baseLoss-goLoss) < 1e-3 {
				t.Errorf("the adapter moves the loss only from %.6f to %.6f: the check would not see a wrong adapter", baseLoss, goLoss)
			}
			t.Logf("loss: base %.6f, adapted %.6f (script %.6f, |diff| %.2g), %d tokens, %d adapted modules", baseLoss, goLoss, got.Loss, math.Abs(got.Loss-goLoss), got.Tokens, got.Adapted)

			lcfg, loaded, err := LoadAdapter(adapter)
			if err != nil {
				t.Fatal(err)
			}
			lc := tc.lc
			lc.Targets = lcfg.Targets
			if _, err := base.AttachLoRA(lc, 1); err != nil {
				t.Fatal(err)
			}
			if err := base.SetAdapters(loaded); err != nil {
				t.Fatal(err)
			}
			if l, _ := goWindowLoss(base, tokens, seqLen); math.Abs(l-goLoss) > 1e-12*goLoss {
				t.Errorf("loaded adapters give %.12f, the saved ones %.12f", l, goLoss)
			}
		})
	}
}

// assignParams copies values by name into m's parameters.
func assignParams(m *layers.Model, values map[string]*autograd.Tensor) error {
	for _, p := range m.Params() {
		v, ok := values[p.Name]
		if !ok || v.Len() != p.Len() {
			return fmt.Errorf("parameter %s missing or misshapen", p.Name)
		}
		for i := range p.Len() {
			p.Set(i, v.At(i))
		}
	}
	return nil
}
