#!/usr/bin/env bash
# Write a real text corpus that every machine which builds moetrain has: the Go toolchain's own source
# ($(go env GOROOT)/src, BSD-licensed), its non-test .go files in path order, concatenated up to --bytes.
# The same Go version gives the same bytes; the script prints the version and the file's SHA-256 so that a
# measurement can say what it ran on.
#
# Usage: tools/go_corpus.sh OUT [--bytes N]     (default N = 1200000, about Tiny Shakespeare's size)
set -euo pipefail
out=${1:?usage: tools/go_corpus.sh OUT [--bytes N]}
shift
bytes=1200000
while [[ $# -gt 0 ]]; do
	case "$1" in
	--bytes) bytes=$2; shift 2 ;;
	*) echo "go_corpus: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $bytes =~ ^[1-9][0-9]*$ ]] || { echo "go_corpus: --bytes $bytes: want a positive whole number" >&2; exit 2; }
root=$(go env GOROOT)/src
[[ -d $root ]] || { echo "go_corpus: $root: no Go source tree (is go installed?)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# Skip tests, testdata and vendored code; LC_ALL=C makes the order independent of the locale. head stops the
# pipeline early on purpose, so its SIGPIPE is not an error; the size check below is.
set +o pipefail
(cd "$root" && find . -name '*.go' ! -name '*_test.go' ! -path '*/testdata/*' ! -path '*/vendor/*' | LC_ALL=C sort |
	xargs cat 2>/dev/null) | head -c "$bytes" >"$tmp"
set -o pipefail
[[ $(wc -c <"$tmp") -eq $bytes ]] || { echo "go_corpus: $root holds fewer than $bytes bytes of Go source" >&2; exit 1; }
sync "$tmp" 2>/dev/null || true
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out: $(wc -c <"$out") bytes of $(go env GOVERSION)'s src, sha256 $(sha256sum "$out" | cut -c1-16)"
