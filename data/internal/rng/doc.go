// Package rng is a small seeded pseudo-random generator whose output is fixed by
// this package alone (splitmix64), so that shuffles, splits and the generated corpus
// stay identical across Go releases. It is not for cryptography.
//
// Dimension legend (shared across moetrain): none of B, T, N, D, H, Dh, E, K, F, V appear here.
package rng
