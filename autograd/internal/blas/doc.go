// Package blas is autograd's single GEMM binding: OpenBLAS through cgo (build
// tag openblas) or gonum's pure Go BLAS. It lives in its own package because a
// package that uses cgo cannot also hold Go assembly, and autograd's kernels
// are written in it.
package blas
