// Package atomicfile writes files so that a reader sees either the old content or
// the complete new content, never a torn file: the bytes go to a temporary file in
// the same directory, which is synced and then renamed over the destination, and
// the directory is synced so the rename itself survives a crash.
//
// Dimension legend (shared across moetrain): none of B, T, N, D, H, Dh, E, K, F, V appear here.
package atomicfile
