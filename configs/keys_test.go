package configs

import (
	"slices"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	keys := Keys()
	// Every key the product names, in its section.
	required := strings.Fields(`model.vocab_size model.d_model model.n_layers model.n_heads model.n_kv_heads
		model.ffn_hidden_size model.max_seq_len model.rope_theta model.norm_eps model.tie_embeddings model.init_std
		moe.num_experts moe.top_k moe.layer_freq moe.expert_ffn_hidden_size moe.shared_experts moe.capacity_factor
		moe.aux_loss_coeff moe.z_loss_coeff moe.load_balancing_type moe.router.type moe.router.pre_softmax
		moe.router.jitter_eps moe.router.expert_bias moe.router.bias_update_rate moe.router.noise_std
		moe.router.normalize train.steps train.micro_batch_size train.grad_accum_steps train.global_batch_size train.seq_len train.lr
		train.min_lr train.warmup_steps train.schedule train.weight_decay train.grad_clip train.seed train.precision
		train.log_every train.eval_every train.eval_batches train.checkpoint_every train.keep_last train.async_save train.beta1
		train.beta2 train.eps train.dropout data.path data.format data.tokenizer data.text_field data.val_fraction
		parallel.backend parallel.world_size parallel.expert_parallel parallel.timeout upcycle.method upcycle.granularity
		upcycle.router_init_std upcycle.drop_ratio upcycle.shared_expert upcycle.carry_optimizer upcycle.noise_std
		upcycle.allow_moe_source lora.rank lora.alpha lora.dropout lora.targets lora.rslora lora.init`)
	for _, k := range required {
		if !slices.Contains(keys, k) {
			t.Errorf("key %s missing", k)
		}
	}
	if len(keys) != len(required) {
		t.Errorf("%d keys, want %d", len(keys), len(required))
	}
	if keys[0] != "model.vocab_size" || keys[len(keys)-1] != "lora.init" {
		t.Errorf("keys not in struct order: %s ... %s", keys[0], keys[len(keys)-1])
	}
	for key := range enumValues {
		if !slices.Contains(keys, key) {
			t.Errorf("enumValues names unknown key %s", key)
		}
	}
}

func TestEnvVar(t *testing.T) {
	for key, want := range map[string]string{
		"train.lr":         "MOETRAIN_TRAIN_LR",
		"moe.router.type":  "MOETRAIN_MOE_ROUTER_TYPE",
		"model.n_kv_heads": "MOETRAIN_MODEL_N_KV_HEADS",
		"a-b.c":            "MOETRAIN_A_B_C",
	} {
		if got := EnvVar(key); got != want {
			t.Errorf("EnvVar(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestSuggestKey(t *testing.T) {
	for in, want := range map[string]string{
		"model.d_modle":     "model.d_model",
		"modle":             "model",
		"lr":                "train.lr",
		"moe.lr":            "train.lr",
		"train.warmup":      "train.warmup_steps",
		"data.val":          "data.val_fraction",
		"moe.router.typ":    "moe.router.type",
		"Train.Steps":       "train.steps",
		"moe.num_expert":    "moe.num_experts",
		"totally.unrelated": "",
	} {
		if got := suggestKey(in); got != want {
			t.Errorf("suggestKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"kitten", "sitting", 3}, {"steps", "setps", 1},
		{"lr", "lr", 0}, {"ca", "abc", 3}, {"d_model", "d_modle", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
		if got := editDistance(tc.b, tc.a); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.d)
		}
	}
}
