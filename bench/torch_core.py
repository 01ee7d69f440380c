#!/usr/bin/env python3
"""The attention core's bench shapes (`mha bench --suite core`) computed by
PyTorch on the CPU, for side-by-side figures: the same math as the core
(GQA by repeating KV heads, causal bottom-right, softmax, P.V), in float32,
and in float16 where this torch can (Debian's 1.13 has no SDPA and no CPU
float16 matmul: those rows say so). Prints lines in `mha bench`'s format.
Usage: /usr/bin/python3 bench/torch_core.py [--reps R] [--threads N]"""
import argparse
import time

import torch

SUITE = [  # name, B, Hq, Hkv, D, L, S, P
    ("prefill", 1, 32, 8, 128, 2048, 2048, 0),
    ("decode", 4, 32, 8, 128, 1, 1, 4096),
    ("decode-mha", 4, 32, 32, 128, 1, 1, 4096),
]


def attend(q, k, v, past_len):
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    scores = (q @ k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)
    L, T = scores.shape[-2:]
    i = torch.arange(L).view(L, 1)
    j = torch.arange(T).view(1, T)
    scores = scores.masked_fill(j > i + past_len, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    for name, B, Hq, Hkv, D, L, S, P in SUITE:
        T = P + S
        for dtype in (torch.float32, torch.float16):
            label = "float32" if dtype == torch.float32 else "float16"
            q = torch.rand(B, Hq, L, D, dtype=dtype) * 2 - 1
            k = torch.rand(B, Hkv, T, D, dtype=dtype) * 2 - 1
            v = torch.rand(B, Hkv, T, D, dtype=dtype) * 2 - 1
            try:
                with torch.no_grad():
                    attend(q, k, v, P)  # warm-up
                    times = []
                    for _ in range(args.reps):
                        start = time.perf_counter()
                        attend(q, k, v, P)
                        times.append((time.perf_counter() - start) * 1e3)
            except RuntimeError as error:
                print(f"{'torch':<10} core {name:<10} {label:<7} skipped: {str(error).splitlines()[0]}")
                continue
            times.sort()
            median = times[len(times) // 2]
            visible = sum(min(i + P + 1, T) for i in range(L))
            flops = 4.0 * B * Hq * D * visible
            kv_bytes = B * Hkv * T * 2 * D * q.element_size()
            print(f"{'torch':<10} core {name:<10} {label:<7} {median:9.3f} ms "
                  f"(min {times[0]:.3f}, max {times[-1]:.3f}, {len(times)} calls) "
                  f"{flops / median / 1e6:8.1f} GFLOP/s {kv_bytes / (median * 1e6):7.2f} GB/s K/V "
                  f"({torch.get_num_threads()} threads)", flush=True)


if __name__ == "__main__":
    main()
