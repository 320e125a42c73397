package configs

// Hostile configuration inputs: each must end in an error that names the file or key, quickly and
// with a short message, never a panic, a hang or an allocation sized by the input's claims.
//
// Mutations caught: rendering aliases without a budget in writeNode (or dropping the aliasNodes check
// in store) makes TestAliasBomb fail on time or length; removing the MaxListEntries check in
// convertList makes TestLongList fail on length; reading the file with os.ReadFile instead of
// readBounded makes TestHugeFile hang on /dev/zero; ignoring the second document in decodeOne makes
// TestSecondDocument fail; dropping the maxShownErrors cap makes TestManyErrors fail; letting
// suggestKey return its own argument makes TestSuggestionsDiffer fail; removing v.bounds makes
// TestUpperBounds fail (n_layers 1e8 then takes seconds and gigabytes); computing the MoE index by
// a loop over MoELayers in expertCount makes TestExpertsForLayerIsLinear time out.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// aliasBomb returns YAML whose anchor a<depth> expands to 10^depth scalars.
func aliasBomb(depth int) string {
	var b strings.Builder
	b.WriteString("x0: &a0 [v, v, v, v, v, v, v, v, v, v]\n")
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
			i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}

// checkHostile loads opts and checks that it fails within a second with a message of at most
// maxLen bytes that contains every one of wants.
func checkHostile(t *testing.T, opts LoadOptions, maxLen int, wants ...string) {
	t.Helper()
	start := time.Now()
	c, err := Load(opts)
	if err == nil {
		t.Fatalf("Load = %+v, want an error", c)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Load took %v", d)
	}
	msg := err.Error()
	if len(msg) > maxLen {
		t.Errorf("message is %d bytes, want at most %d: %.400s", len(msg), maxLen, msg)
	}
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("message %.600q does not contain %q", msg, w)
		}
	}
}

func TestAliasBomb(t *testing.T) {
	bomb := aliasBomb(9) // 10^9 scalars once expanded
	cases := map[string]struct {
		yaml  string
		wants []string
	}{
		"key":     {"model:\n  d_model: &b [*a9, *a9]\n", []string{"model.d_model", "aliases", "without aliases"}},
		"section": {"train: *a9\n", []string{"train", "is a section"}},
		"list":    {"moe:\n  layer_freq: *a9\n", []string{"moe.layer_freq", "aliases"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// the anchors sit under an unknown key, which is reported too, so the file fails either way;
			// what matters is that the message stays short and comes at once.
			path := writeFile(t, "data:\n  path: x\n"+indentUnder("upcycle_bomb", bomb)+tc.yaml)
			checkHostile(t, LoadOptions{ConfigRef: path}, 4000, append(tc.wants, "file "+path)...)
			for _, e := range loadErrors(t, LoadOptions{ConfigRef: path}) {
				if len(e.Value) > 1000 {
					t.Errorf("%s: value shown in %d bytes", e.Key, len(e.Value))
				}
			}
		})
	}
}

// indentUnder nests yaml under key so that its anchors are defined before the keys that use them.
func indentUnder(key, yaml string) string {
	return key + ":\n  " + strings.ReplaceAll(strings.TrimSuffix(yaml, "\n"), "\n", "\n  ") + "\n"
}

func TestLongList(t *testing.T) {
	items := strings.TrimSuffix(strings.Repeat("1, ", 300000), ", ")
	path := writeFile(t, "moe:\n  layer_freq: ["+items+"]\n")
	checkHostile(t, LoadOptions{ConfigRef: path}, 1000, "moe.layer_freq", "300000 entries", "more than the 4096", "file "+path)
	checkHostile(t, LoadOptions{Sets: []string{"moe.num_experts=" + items}}, 1000, "moe.num_experts", "300000 entries", "bytes)")
	names := strings.TrimSuffix(strings.Repeat("q_proj,", 5000), ",")
	checkHostile(t, LoadOptions{Sets: []string{"lora.targets=" + names}}, 1000, "lora.targets", "5000 entries")
	// within the cap, a failing list is still shown shortened
	short := strings.TrimSuffix(strings.Repeat("1, ", 4000), ", ")
	checkHostile(t, LoadOptions{Sets: []string{"moe.layer_freq=[" + short + "]"}}, 1000, "moe.layer_freq", "has 4000 entries but model.n_layers = 4", "more)")
}

func TestHugeFile(t *testing.T) {
	path := writeFile(t, "train:\n  steps: 5\n"+strings.Repeat("# padding\n", 120000))
	checkHostile(t, LoadOptions{ConfigRef: path}, 500, "file "+path, "more than 1048576 bytes")
	if _, err := os.Stat("/dev/zero"); err == nil {
		checkHostile(t, LoadOptions{ConfigRef: "/dev/zero"}, 500, "file /dev/zero", "more than 1048576 bytes")
	}
}

func TestSecondDocument(t *testing.T) {
	path := writeFile(t, "train:\n  steps: 5\n---\ntrain:\n  steps: 9\n")
	checkHostile(t, LoadOptions{ConfigRef: path}, 500, "file "+path, "line 4", "second YAML document", "merge")
	if _, err := FromYAML([]byte("---\n---\ntrain:\n  steps: 9\n")); err == nil || !strings.Contains(err.Error(), "second YAML document") {
		t.Errorf("an empty first document hiding the real one: got %v", err)
	}
	checkHostile(t, LoadOptions{Sets: []string{"train.steps=5\n---\n6"}}, 500, "train.steps", "cannot parse")
	for _, ok := range []string{"train:\n  steps: 7\n---\n", "---\ntrain:\n  steps: 7\n", "train:\n  steps: 7\n...\n"} {
		c, err := Load(LoadOptions{ConfigRef: writeFile(t, ok)})
		if err != nil || c.Train.Steps != 7 {
			t.Errorf("%q: got %v, %v; want train.steps 7", ok, c, err)
		}
	}
}

func TestManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("model:\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "  bogus_%d: 1\n", i)
	}
	path := writeFile(t, b.String())
	checkHostile(t, LoadOptions{ConfigRef: path}, 60000, "2000 problems", "model.bogus_0", "and 1950 more")
	long := strings.Repeat("k", 1<<16)
	checkHostile(t, LoadOptions{Sets: []string{"model." + long + "=1"}}, 1500, "unknown key", "more bytes)")
}

func TestSuggestionsDiffer(t *testing.T) {
	names := Keys()
	for s := range registry.sections {
		names = append(names, s)
	}
	for _, k := range names {
		if got := suggestKey(k); got != "" {
			t.Errorf("suggestKey(%q) = %q, want no suggestion for a valid name", k, got)
		}
		env := EnvVar(k)
		if registry.byEnv[env] != nil {
			continue
		}
		es := loadErrors(t, LoadOptions{Env: []string{env + "=1"}})
		if hint := es[0].Hint; strings.Contains(hint, "did you mean "+env+" ") || !strings.Contains(hint, "is a section") {
			t.Errorf("env %s (section %s): hint %q; want it to say this is a section and name its keys' variables", env, k, hint)
		}
	}
	for _, tc := range []struct{ set, want string }{
		{"moe.routr=1", `did you mean "moe.router"? (a section; its keys are moe.router.type`},
		{"moe.routr.typ=1", `did you mean "moe.router.type"?`},
	} {
		es := loadErrors(t, LoadOptions{Sets: []string{tc.set}})
		if !strings.Contains(es[0].Hint, tc.want) {
			t.Errorf("--set %s: hint %q, want %q", tc.set, es[0].Hint, tc.want)
		}
	}
}

func TestUpperBounds(t *testing.T) {
	for _, tc := range []struct{ set, key string }{
		{"model.d_model=1e9", "model.d_model"},
		{"train.micro_batch_size=1e9", "train.micro_batch_size"},
		{"model.n_layers=1e8", "model.n_layers"},
		{"model.vocab_size=1e12", "model.vocab_size"},
		{"moe.num_experts=1000000", "moe.num_experts"},
		{"moe.num_experts=[8,8,8,1000000]", "moe.num_experts"},
		{"model.max_seq_len=1e9", "model.max_seq_len"},
		{"moe.expert_ffn_hidden_size=1e9", "moe.expert_ffn_hidden_size"},
		{"train.grad_accum_steps=1e9", "train.grad_accum_steps"},
		{"parallel.world_size=1e9", "parallel.world_size"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			checkHostile(t, LoadOptions{Sets: []string{tc.set}}, 600, tc.key+": ", "the most", "typo", "--set "+tc.set)
		})
	}
	at := fmt.Sprintf("model.n_layers=%d", MaxLayers)
	if _, err := Load(LoadOptions{Sets: []string{at}}); err != nil {
		t.Errorf("--set %s: %v; the bound itself is allowed", at, err)
	}
}

func TestExpertsForLayerIsLinear(t *testing.T) {
	c := Default()
	c.Model.NLayers = 2_000_000 // beyond the bound, as a hand-built Config may be: it must still be fast
	c.MoE.LayerFreq = EveryLayer(3)
	c.MoE.NumExperts = ExpertsPerLayer(make([]int, 700_000)...)
	for j := range c.MoE.NumExperts.PerLayer {
		c.MoE.NumExperts.PerLayer[j] = j + 1
	}
	start := time.Now()
	total := 0
	for i := range c.Model.NLayers {
		total += c.ExpertsForLayer(i)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ExpertsForLayer over %d layers took %v", c.Model.NLayers, d)
	}
	if want := 666_667 * 666_668 / 2; total != want {
		t.Errorf("sum of experts = %d, want %d", total, want)
	}
	// layerExperts agrees with ExpertsForLayer on every form
	for _, lf := range []LayerFreq{EveryLayer(1), EveryLayer(2), EveryLayer(0), LayerPattern(true, false, false, true, true, false)} {
		for _, ne := range []ExpertCount{Experts(4), Experts(0), ExpertsPerLayer(2, 4, 6, 8, 10, 12)} {
			c := Default()
			c.Model.NLayers, c.MoE.LayerFreq, c.MoE.NumExperts = 6, lf, ne
			got := c.layerExperts()
			for i, e := range got {
				if want := c.ExpertsForLayer(i); e != want {
					t.Errorf("layer_freq %v num_experts %v layer %d: layerExperts %d, ExpertsForLayer %d", lf, ne, i, e, want)
				}
			}
		}
	}
}
