#!/usr/bin/env python3
"""Tables for docs/benchmarks.md from a criterion run of
`cargo bench -p boltzmax --bench softmax`: ns per element (median of the
samples; the fastest sample in brackets, the least disturbed on a shared
machine) and ratios to the copy, the read-only stream and the plain
three-pass loop measured in the same run.

Usage: python3 benches/report.py [target/criterion]
"""
import glob
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
data = {}
for bj in glob.glob(os.path.join(root, "**", "new", "benchmark.json"), recursive=True):
    d = os.path.dirname(bj)
    b = json.load(open(bj))
    est = json.load(open(os.path.join(d, "estimates.json")))
    smp = json.load(open(os.path.join(d, "sample.json")))
    if not (b.get("throughput") or {}).get("Elements"):
        continue  # another bench's group (sampling, rl, ...)
    n = b["throughput"]["Elements"]
    med = est["median"]["point_estimate"] / n
    best = min(t / i for t, i in zip(smp["times"], smp["iters"])) / n
    data[(b["group_id"], b["function_id"], b["value_str"])] = (med, best)

groups = sorted({k[0] for k in data}, key=lambda g: (g.split("/")[0], g.split("/")[1],
                int(g.split("/")[2].split("x")[0]) * int(g.split("/")[2].split("x")[1])))
for g in groups:
    print(f"\n#### {g}\n")
    print("| function | threads | ns/elem median (fastest) | / copy | / read | / three-pass |")
    print("|---|---|---|---|---|---|")
    for t in ["1t", "par"]:
        base = {f: data.get((g, f, t)) for f in ["copy", "read", "three_pass"]}
        for f in ["softmax", "log_softmax", "logsumexp", "copy", "read", "three_pass"]:
            v = data.get((g, f, t))
            if v is None:
                continue
            r = lambda b: f"{v[0] / b[0]:.2f}" if b else "-"
            print(f"| {f} | {t} | {v[0]:.3f} ({v[1]:.3f}) | {r(base['copy'])} | {r(base['read'])} | {r(base['three_pass'])} |")
