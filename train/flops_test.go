package train

import (
	"testing"

	"github.com/moetrain/moetrain/configs"
)

// FLOPs, counted by hand. Mutations tried and caught by TestFLOPsByHand:
// dropping the LM head, counting the LM head only when untied, k/v at
// n_heads instead of n_kv_heads, dropping the shared experts, dropping the
// router gate, dropping the noise projection (flops.go missed it before this
// table), and an attention term of 6 or of 12 x n_kv_heads x Dh instead of
// 12 x d_model.
//
// Per layer, attention is q [H*Dh, D] + o [D, H*Dh] + k, v [Hkv*Dh, D] each;
// a dense FFN is 3 x D x ffn; an MoE FFN is 3 x D x F x (K + shared) + the
// gate D x E (+ the noise projection D x E for noisy_topk). The LM head is
// D x V, tied or not. FLOPs per token = 6 x that + 12 x L x T x D.
//
// dense: V 256, D 32, L 2, H 4, Hkv 4 (Dh 8), ffn 64, untied, T 16.
//
//	attention 32*32 + 32*32 + 2*(32*32)  =  4096 per layer
//	MLP       3*32*64                    =  6144 per layer
//	layers    2 * (4096 + 6144)          = 20480
//	LM head   32*256                     =  8192
//	active                                 28672
//	FLOPs     6*28672 + 12*2*16*32 = 172032 + 12288 = 184320
//
// moe-shared-gqa-tied: V 256, D 32, L 2, H 4, Hkv 2 (Dh 8), E 4, K 2, F 16,
// 1 shared expert, tied embeddings, every layer MoE, T 16.
//
//	attention 32*32 + 32*32 + 2*(32*16)  =  3072 per layer
//	experts   3*32*16*(2+1)              =  4608 per layer
//	gate      32*4                       =   128 per layer
//	layers    2 * (3072 + 4608 + 128)    = 15616
//	LM head   32*256 (tied)              =  8192
//	active                                 23808
//	FLOPs     6*23808 + 12*2*16*32 = 142848 + 12288 = 155136
//
// noisy-hybrid: V 256, D 16, L 2, H 2, Hkv 1 (Dh 8), ffn 48, E 8, K 1, F 8,
// MoE every 2nd layer (one MoE, one dense), noisy_topk, untied, T 8.
//
//	attention 16*16 + 16*16 + 2*(16*8)   =   768 per layer, 1536 for 2
//	dense MLP 3*16*48                    =  2304
//	MoE       3*16*8*1 + 16*8 + 16*8     =   640 (experts 384, gate 128, noise 128)
//	LM head   16*256                     =  4096
//	active    1536 + 2304 + 640 + 4096   =  8576
//	FLOPs     6*8576 + 12*2*8*16 = 51456 + 3072 = 54528
func TestFLOPsByHand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		preset string
		sets   []string
		active int
		flops  float64
	}{
		{"dense", "dense", []string{
			"model.vocab_size=256", "model.d_model=32", "model.n_layers=2", "model.n_heads=4", "model.n_kv_heads=4",
			"model.ffn_hidden_size=64", "model.max_seq_len=16", "train.seq_len=16",
		}, 28672, 184320},
		{"moe-shared-gqa-tied", "tiny", []string{
			"model.vocab_size=256", "model.d_model=32", "model.n_layers=2", "model.n_heads=4", "model.n_kv_heads=2",
			"model.tie_embeddings=true", "model.max_seq_len=16", "train.seq_len=16",
			"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=16", "moe.shared_experts=1", "moe.layer_freq=1",
		}, 23808, 155136},
		{"noisy-hybrid", "tiny", []string{
			"model.vocab_size=256", "model.d_model=16", "model.n_layers=2", "model.n_heads=2", "model.n_kv_heads=1",
			"model.ffn_hidden_size=48", "model.max_seq_len=8", "train.seq_len=8",
			"moe.num_experts=8", "moe.top_k=1", "moe.expert_ffn_hidden_size=8", "moe.layer_freq=2",
			"moe.router.type=noisy_topk", "moe.router.noise_std=1",
		}, 8576, 54528},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := configs.Load(configs.LoadOptions{ConfigRef: tc.preset, Sets: tc.sets})
			if err != nil {
				t.Fatal(err)
			}
			if got := ActiveMatmulParams(c); got != tc.active {
				t.Errorf("ActiveMatmulParams = %d, want %d", got, tc.active)
			}
			if got := FLOPsPerToken(c); got != tc.flops {
				t.Errorf("FLOPsPerToken = %v, want %v", got, tc.flops)
			}
		})
	}
}
