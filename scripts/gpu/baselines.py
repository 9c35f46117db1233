"""cuBLAS baselines for the GPU benchmark, through PyTorch on the GPU machine (it has torch; the addon
does not link cuBLAS). For every (N, K) shape and M of gpu-node's benchmark: fp16 GEMM
(torch.nn.functional.linear) and int8 GEMM (torch._int_mm, int32 out), CUDA-event medians, weights
rotated through copies larger than 3x the 50 MB L2. One JSON object per line.

    python3 scripts/gpu/baselines.py --out baselines.jsonl [--quick]
"""
import argparse
import json
import statistics

import torch

SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008), (8192, 8192), (28672, 8192), (8192, 28672)]
TOKENS = [1, 8, 16, 32, 128, 2048]
ROTATE_BYTES = 160e6
TARGET_MS = 40.0
# torch._int_mm (cuBLASLt) rejects M <= 16; those M run padded to this many rows, and are marked so.
INT8_MIN_M = 17
SLEEP_CYCLES = 100_000_000  # ~50 ms at 1.98 GHz: longer than enqueueing 300 calls from Python


def time_calls(fn, copies):
    for i in range(3):
        fn(copies[i % len(copies)])
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    fn(copies[0])
    e.record()
    e.synchronize()
    iters = max(8, min(300, int(TARGET_MS / max(s.elapsed_time(e), 1e-3))))
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
    # Queue the timed calls behind a sleeping kernel so events measure GPU time, not Python's launch rate.
    torch.cuda._sleep(SLEEP_CYCLES)
    for i, (a, b) in enumerate(events):
        a.record()
        fn(copies[i % len(copies)])
        b.record()
    torch.cuda.synchronize()
    return statistics.median(a.elapsed_time(b) for a, b in events) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(torch.seed())
    with open(args.out, "w") as out:
        for n, k in SHAPES[:1] if args.quick else SHAPES:
            n_copies = max(2, min(16, int(ROTATE_BYTES / (2 * n * k)) + 1))
            w16 = [torch.randn(n, k, device="cuda", dtype=torch.float16) for _ in range(n_copies)]
            n8 = max(2, min(32, int(ROTATE_BYTES / (n * k)) + 1))
            w8 = [torch.randint(-128, 128, (n, k), device="cuda", dtype=torch.int8) for _ in range(n8)]
            for m in TOKENS:
                x16 = torch.randn(m, k, device="cuda", dtype=torch.float16)
                fp16_us = time_calls(lambda w: torch.nn.functional.linear(x16, w), w16)
                m8 = max(m, INT8_MIN_M)
                x8 = torch.randint(-128, 128, (m8, k), device="cuda", dtype=torch.int8)
                try:
                    int8_us = time_calls(lambda w: torch._int_mm(x8, w.t()), w8)
                    int8_err = None
                except RuntimeError as err:  # report, do not hide, an unsupported shape
                    int8_us, int8_err = None, str(err).splitlines()[0]
                rec = {"n": n, "k": k, "m": m, "fp16Us": fp16_us, "int8Us": int8_us, "int8M": m8}
                if int8_err:
                    rec["int8Error"] = int8_err
                out.write(json.dumps(rec) + "\n")
                out.flush()
            del w16, w8
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
