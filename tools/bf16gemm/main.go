// Command bf16gemm writes autograd/bf16_gemm_amd64.s, the AVX512-BF16 GEMM
// micro-kernels. The Go assembler has no mnemonic for VDPBF16PS, so each
// one is written as BYTE directives with the instruction, in Go operand
// order, in the line's comment; the kernels are unrolled over rows, so
// writing them by program keeps the register allocation in one place.
//
// Usage:
//
//	bf16gemm [-check] [-o FILE]
//
// It writes FILE (default bf16_gemm_amd64.s, as go generate runs it from
// autograd/) through a temporary file, fsync and rename. With -check it
// writes nothing and exits 1 when FILE differs from what it would write.
// Exit status 2 on bad usage or when FILE cannot be read or written.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// run is main with its arguments and error stream, returning the exit status.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("bf16gemm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "bf16_gemm_amd64.s", "assembly file to write")
	check := fs.Bool("check", false, "exit 1 if the file is not what bf16gemm writes, instead of writing it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: bf16gemm [-check] [-o FILE]")
		return 2
	}
	src, err := generate()
	if err != nil {
		fmt.Fprintf(stderr, "bf16gemm: %v\n", err)
		return 2
	}
	if *check {
		old, err := os.ReadFile(*out)
		if err != nil {
			fmt.Fprintf(stderr, "bf16gemm: %v (run go generate ./autograd/ to write it)\n", err)
			return 2
		}
		if !bytes.Equal(old, src) {
			fmt.Fprintf(stderr, "bf16gemm: %s is not up to date; run go generate ./autograd/\n", *out)
			return 1
		}
		return 0
	}
	if err := writeFileAtomic(*out, src); err != nil {
		fmt.Fprintf(stderr, "bf16gemm: %v\n", err)
		return 2
	}
	return 0
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory, fsynced, renamed over path, and the directory fsynced.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, werr)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
