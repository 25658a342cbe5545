#!/usr/bin/env python3
"""The timing protocol of spec section 11 applied to the OFFICIAL SuperSimpleNet model, on CUDA or on the CPU.

bench/device-check.sh runs the official perf/perf_main.py itself on CUDA; this driver is for the CPU (where
perf_main.py cannot run: it hard-codes CUDA and fp16) and gives the same figures as JSON: per cycle a fresh
model per measurement, latency at batch 1 (H->D copy + forward + D->H copy of map and score), throughput at
batch 16, peak reserved memory (CUDA only), profiler GFLOPs; the first cycle is dropped.

  python3 bench/official-perf.py --official DIR --device cpu [--precision fp32] [--warmup 2] [--reps 5] [--cycles 2]

DIR holds the official repository's model/ and common/ folders, with the backbone made random (weights=None
instead of the ImageNet download): nothing is fetched.
"""
import argparse
import gc
import json
import os
import statistics
import sys
import timeit


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--official", required=True)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default=None, choices=["fp32", "fp16", "bf16"])
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--cycles", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=256, help="image side (the paper: 256)")
    p.add_argument("--backbone", default="wide_resnet50_2", help="the paper: wide_resnet50_2 (others for dry runs)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", default="")
    a = p.parse_args()
    sys.path.insert(0, os.path.abspath(a.official))
    import torch
    from model.supersimplenet import SuperSimpleNet

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    precision = a.precision or ("fp16" if a.device == "cuda" else "fp32")
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    torch.backends.cudnn.deterministic = True
    config = {"backbone": a.backbone, "layers": ["layer2", "layer3"], "patch_size": 3,
              "noise_std": 0.015, "stop_grad": False}

    def model():
        m = SuperSimpleNet(image_size=(a.size, a.size), config=config)
        return m.to(a.device).to(dtype).eval()

    def sync():
        if a.device == "cuda":
            torch.cuda.synchronize()

    @torch.no_grad()
    def timed(batch):
        m = model()
        img = torch.randn(batch, 3, a.size, a.size, dtype=dtype)
        times = []
        for i in range(a.warmup + a.reps):
            img = img.to("cpu")
            t0 = timeit.default_timer()
            x = img.to(a.device)
            out = m(x)
            out = out[0].to("cpu"), out[1].to("cpu")
            t1 = timeit.default_timer()
            if i >= a.warmup:
                times.append(t1 - t0)
        del m
        gc.collect()
        return times

    @torch.no_grad()
    def memory():
        if a.device != "cuda":
            return None
        m = model()
        img = torch.randn(1, 3, a.size, a.size, dtype=dtype).to("cuda")
        total = 0
        for _ in range(a.reps):
            gc.collect()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            m(img)
            total += torch.cuda.max_memory_reserved()
        del m
        gc.collect()
        return total / 1e6 / a.reps

    @torch.no_grad()
    def gflops():
        m = model()
        img = torch.randn(1, 3, a.size, a.size, dtype=dtype).to(a.device)
        m(img)
        with torch.profiler.profile(with_flops=True) as prof:
            m(img)
        return sum(x.flops for x in prof.key_averages()) / 1e9

    rows = []
    for c in range(a.cycles):
        lat = timed(1)
        thr = timed(a.batch) if a.batch > 0 else None
        row = {"cycle": c + 1, "dropped": a.cycles > 1 and c == 0,
               "latencyMs": 1000 * sum(lat) / len(lat), "latencyMsMin": 1000 * min(lat),
               "latencyMsMedian": 1000 * statistics.median(lat),
               "throughput": a.batch * len(thr) / sum(thr) if thr else None,
               "peakReservedMB": memory(), "gflops": gflops()}
        rows.append(row)
        print(f"cycle {c + 1}: {row['latencyMs']:.3f} ms, {row['throughput'] or 0:.2f} img/s", file=sys.stderr)
    kept = [r for r in rows if not r["dropped"]]
    summary = {}
    for k in ["latencyMs", "latencyMsMin", "latencyMsMedian", "throughput", "peakReservedMB", "gflops"]:
        xs = [r[k] for r in kept if r[k] is not None]
        if xs:
            summary[k] = {"mean": statistics.mean(xs), "std": statistics.stdev(xs) if len(xs) > 1 else 0.0,
                          "min": min(xs), "n": len(xs)}
    result = {"tool": "official-perf.py (official model, spec section 11 protocol)",
              "protocol": {"device": a.device, "precision": precision, "warmup": a.warmup, "reps": a.reps,
                           "cycles": a.cycles, "batch": a.batch, "model": f"{a.backbone} random init, {a.size}x{a.size}",
                           "input": f"randn {precision} on the host"},
              "versions": {"torch": torch.__version__, "threads": torch.get_num_threads()},
              "cycles": rows, "summary": summary}
    text = json.dumps(result, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
