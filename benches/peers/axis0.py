"""softmax, log-softmax and logsumexp along axis 0 of C-ordered arrays:
boltzmax against numpy (shift-exp-normalise), scipy.special and, where
installed, torch and jax, in one process on the same arrays.

    pip install ./crates/boltzmax-py numpy scipy     # torch, jax optional
    python benches/peers/axis0.py [--repeat 7]

Prints, per shape and function, the median time per element of each
implementation (boltzmax on one thread and on all threads), the ratio of
the fastest peer to boltzmax's one thread, and a copy of the same bytes.
"""

import argparse
import os
import platform
import time

import numpy as np
import scipy.special as sp

import boltzmax as bm

SHAPES = [(4096, 4096), (16384, 1024), (1024, 4096), (1024, 1000), (65536, 64), (64, 65536)]


def timed(f, repeat):
    f()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def np_softmax(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def np_log_softmax(x):
    z = x - x.max(axis=0, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=0, keepdims=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    peers = {}
    try:
        import torch

        peers["torch"] = torch
    except ImportError:
        pass
    try:
        import jax

        peers["jax"] = jax
    except ImportError:
        pass
    print(
        f"# axis 0, f32, C order; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print("| shape | function | boltzmax 1t | boltzmax all | numpy | scipy | " + " | ".join(peers) + " | copy | fastest peer / boltzmax 1t |")
    print("|---" * (8 + len(peers)) + "|")
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        out = np.empty_like(x)
        n = x.size
        cp = timed(lambda: np.copyto(out, x), args.repeat)
        rows = {
            "softmax": {
                "b1": lambda: bm.softmax(x, axis=0, out=out, threads=1),
                "ball": lambda: bm.softmax(x, axis=0, out=out),
                "numpy": lambda: np_softmax(x),
                "scipy": lambda: sp.softmax(x, axis=0),
            },
            "log_softmax": {
                "b1": lambda: bm.log_softmax(x, axis=0, out=out, threads=1),
                "ball": lambda: bm.log_softmax(x, axis=0, out=out),
                "numpy": lambda: np_log_softmax(x),
                "scipy": lambda: sp.log_softmax(x, axis=0),
            },
            "logsumexp": {
                "b1": lambda: bm.logsumexp(x, axis=0, threads=1),
                "ball": lambda: bm.logsumexp(x, axis=0),
                "numpy": lambda: np.log(np.exp(x - x.max(axis=0)).sum(axis=0)) + x.max(axis=0),
                "scipy": lambda: sp.logsumexp(x, axis=0),
            },
        }
        if "torch" in peers:
            t = peers["torch"]
            tx = t.from_numpy(x)
            rows["softmax"]["torch"] = lambda: t.softmax(tx, dim=0)
            rows["log_softmax"]["torch"] = lambda: t.log_softmax(tx, dim=0)
            rows["logsumexp"]["torch"] = lambda: t.logsumexp(tx, dim=0)
        if "jax" in peers:
            j = peers["jax"]
            jx = j.device_put(x)
            fs = {
                "softmax": j.jit(lambda v: j.nn.softmax(v, axis=0)),
                "log_softmax": j.jit(lambda v: j.nn.log_softmax(v, axis=0)),
                "logsumexp": j.jit(lambda v: j.nn.logsumexp(v, axis=0)),
            }
            for name, g in fs.items():
                rows[name]["jax"] = lambda g=g: g(jx).block_until_ready()
        for name, fns in rows.items():
            ts = {k: timed(f, args.repeat) / n * 1e9 for k, f in fns.items()}
            peer_names = ["numpy", "scipy"] + list(peers)
            best = min(ts[k] for k in peer_names if k in ts)
            cells = [f"{ts[k]:.2f}" if k in ts else "-" for k in peer_names]
            print(
                f"| {shape} | {name} | {ts['b1']:.2f} | {ts['ball']:.2f} | "
                + " | ".join(cells)
                + f" | {cp / n * 1e9:.2f} | {best / ts['b1']:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
