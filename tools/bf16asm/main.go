// Command bf16asm writes the machine code of the AVX512-BF16 instructions
// (VCVTNE2PS2BF16, VCVTNEPS2BF16, VDPBF16PS), which the Go assembler has no
// mnemonics for, into Go assembly files. Each instruction is written as a
// line whose comment holds its readable form in Go operand order:
//
//	// bf16asm: VCVTNE2PS2BF16 Z0, Z1, Z2
//
// and bf16asm replaces whatever precedes that comment with the
// instruction's BYTE directives, leaving the comment in place:
//
//	BYTE $0x62; BYTE $0xf2; BYTE $0x77; BYTE $0x48; BYTE $0x72; BYTE $0xd0 // bf16asm: VCVTNE2PS2BF16 Z0, Z1, Z2
//
// Usage:
//
//	bf16asm [-check] FILE.s...
//
// Files are rewritten in place (temporary file, fsync, rename). With -check
// nothing is written and the exit status is 1 if any file is not up to date.
// Exit status 2 on bad usage or an instruction that cannot be encoded.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// marker introduces an instruction's readable form in a line's comment.
const marker = "// bf16asm: "

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// run is main with its arguments and error stream, returning the exit status.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("bf16asm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "report files that are not up to date instead of rewriting them")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: bf16asm [-check] FILE.s...")
		return 2
	}
	status := 0
	for _, path := range fs.Args() {
		old, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "bf16asm: %v\n", err)
			return 2
		}
		updated, err := rewrite(path, old)
		if err != nil {
			fmt.Fprintf(stderr, "bf16asm: %v\n", err)
			return 2
		}
		if bytes.Equal(old, updated) {
			continue
		}
		if *check {
			fmt.Fprintf(stderr, "bf16asm: %s is not up to date; run bf16asm %s\n", path, path)
			status = 1
			continue
		}
		if err := writeFileSynced(path, updated); err != nil {
			fmt.Fprintf(stderr, "bf16asm: %v\n", err)
			return 2
		}
	}
	return status
}

// rewrite returns src with every marked line's code replaced by the BYTE
// directives of the instruction in its comment. path names src in errors.
func rewrite(path string, src []byte) ([]byte, error) {
	lines := strings.SplitAfter(string(src), "\n")
	var out strings.Builder
	for i, line := range lines {
		at := strings.Index(line, marker)
		if at < 0 {
			out.WriteString(line)
			continue
		}
		body, nl := strings.CutSuffix(line[at+len(marker):], "\n")
		code, err := encode(body)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		out.WriteString(indent)
		for j, b := range code {
			if j > 0 {
				out.WriteString("; ")
			}
			fmt.Fprintf(&out, "BYTE $0x%02x", b)
		}
		out.WriteString(" " + marker + strings.TrimSpace(body))
		if nl {
			out.WriteString("\n")
		}
	}
	return []byte(out.String()), nil
}

// writeFileSynced replaces path with data through a temporary file in the
// same directory that is fsynced before the rename, keeping path's mode.
func writeFileSynced(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".bf16asm-*")
	if err != nil {
		return fmt.Errorf("create temporary file next to %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(info.Mode().Perm())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("fsync directory %s: %w", dir, err)
		}
	}
	return nil
}
