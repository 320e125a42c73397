#!/usr/bin/env bash
# Collective benchmarks of parallel.Comm, 4 KiB to 64 MiB per rank (BENCHMARKS.md, "Collectives"):
#   1. the MPI backend under mpirun -np 2 (BenchmarkMPIAllReduce, BenchmarkMPIAllToAllV; rank 0's lines);
#   2. the local backend at world 2 (BenchmarkLocalAllReduce, BenchmarkLocalAllToAllV);
#   3. torch.distributed gloo at world 2 (tools/bench_gloo.py), when /usr/bin/python3 has torch.
# Usage: tools/bench_comm.sh [iterations per MPI benchmark, default 20]
# Run it on an otherwise idle machine: the two ranks take both cores of a 2-core box.
set -euo pipefail
cd "$(dirname "$0")/.."
iters="${1:-20}"
command -v mpirun >/dev/null || { echo "bench_comm: mpirun not found; install openmpi-bin libopenmpi-dev" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tags=mpi
if echo 'int main(void){return 0;}' | ${CC:-cc} -include cblas.h -x c - -lopenblas -o /dev/null >/dev/null 2>&1; then
  tags=openblas,mpi
fi
go test -tags "$tags" -c -o "$tmp/parallel.test" ./parallel

echo "== MPI backend, mpirun -np 2 ($(mpirun --version 2>&1 | sed -n 1p)), $iters iterations"
# Every rank must run the same iteration count, hence -test.benchtime=Nx.
mpirun --allow-run-as-root --oversubscribe --output-filename "$tmp/out" -np 2 "$tmp/parallel.test" \
  -test.run '^$' -test.bench 'MPI' -test.benchtime "${iters}x" >/dev/null
grep -E '^Benchmark|^PASS|^FAIL' "$tmp"/out/1/rank.0/stdout

echo "== local backend, world 2"
"$tmp/parallel.test" -test.run '^$' -test.bench 'Local.*/world=2/' -test.benchtime 1s | grep -E '^Benchmark|FAIL' || true

echo "== torch.distributed gloo, world 2"
if /usr/bin/python3 -c 'import torch.distributed' 2>/dev/null; then
  /usr/bin/python3 tools/bench_gloo.py
else
  echo "skipped: /usr/bin/python3 has no torch.distributed (Debian: python3-torch)"
fi
