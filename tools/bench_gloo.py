#!/usr/bin/env python3
"""torch.distributed gloo collectives at world size 2 on this machine, the reference for moetrain's
MPI backend (tools/bench_comm.sh): all_reduce (sum) and all_to_all_single, float32 messages of
4 KiB to 64 MiB per rank. Prints one line per collective and size from rank 0, in the units of Go's
benchmarks: time per call and MB/s per rank (message bytes over the time of one call).

Usage: /usr/bin/python3 tools/bench_gloo.py [--iters N] [--port P]
"""
import argparse
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

SIZES = [4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20]


def iters_for(size, base):
    """Fewer iterations for the large messages, at least 5."""
    return max(5, min(base, base * (1 << 20) // size))


def bench(rank, world, args, results):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(args.port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    lines = []
    for name in ("all_reduce", "all_to_all_single"):
        for size in SIZES:
            n = size // 4
            send = torch.arange(n, dtype=torch.float32) % 7
            recv = torch.empty_like(send)

            def call():
                if name == "all_reduce":
                    dist.all_reduce(send)
                else:
                    dist.all_to_all_single(recv, send)

            try:
                for _ in range(3):
                    call()
            except (RuntimeError, NotImplementedError) as e:  # gloo lacks the collective
                lines.append(f"{name:<18} bytes={size:<9} unsupported by gloo: {e}")
                break
            it = iters_for(size, args.iters)
            dist.barrier()
            start = time.perf_counter()
            for _ in range(it):
                call()
            took = (time.perf_counter() - start) / it
            lines.append(f"{name:<18} bytes={size:<9} {it:>5} iters {took * 1e6:>12.1f} us/op {size / took / 1e6:>9.1f} MB/s")
    dist.destroy_process_group()
    if rank == 0:
        results.put(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=200, help="iterations at 1 MiB and below (fewer above)")
    p.add_argument("--port", type=int, default=29511, help="TCP port of the rendezvous on 127.0.0.1")
    args = p.parse_args()
    ctx = mp.get_context("spawn")
    results = ctx.SimpleQueue()
    world = 2
    procs = [ctx.Process(target=bench, args=(r, world, args, results)) for r in range(world)]
    for pr in procs:
        pr.start()
    lines = results.get()
    for pr in procs:
        pr.join()
        if pr.exitcode != 0:
            sys.exit(f"bench_gloo: a rank exited with status {pr.exitcode}")
    print(f"torch {torch.__version__} gloo, world 2, 1 thread per rank")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
