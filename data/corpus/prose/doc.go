// Package prose generates the project's own English corpus: essays and short
// scenes about a handful of topics (bees and orchards, a harbour and its
// lighthouse, the night sky, a bakery, mountain paths, a clockmaker's workshop, a
// river mill and its market). A small grammar of sentence templates is filled from
// per-topic word lists with agreement (a/an, singular/plural, past and present
// tense, pronouns kept per paragraph), so the text is grammatical and varied but
// strongly structured: spelling, word order and topic vocabulary are all
// learnable, which a language model's loss shows within minutes.
//
// Generation is deterministic: the same seed and size give the same bytes on
// every platform and Go release (the random stream is internal/rng's splitmix64).
// Every word list and template here was written for this project.
//
// Dimension legend (shared across moetrain): none of B, T, N, D, H, Dh, E, K, F, V appear here.
package prose
