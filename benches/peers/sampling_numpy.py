"""The sampling benchmark's peer: numpy doing what `cargo bench --bench
sampling` times, on the same logits (written by that bench to
target/bench-data/sampling_<name>.f32; run it first).

- chain: temperature 0.8, top-k 50 by argpartition, top-p 0.9 over the
  sorted top-k, one inverse-CDF draw (what a careful numpy sampler does);
- min_p: min-p 0.05 (probabilities over the whole vocabulary, threshold,
  renormalise), one draw;
- full_sort: argsort of the logits (the yardstick);
- top_p_full_sort: top-p 0.9 by a full sort (the naive nucleus).

torch is not installed on this machine (a CPU wheel is ~200 MB and
the machine is shared), so it is not run.

Usage: python3 benches/peers/sampling_numpy.py  (prints medians in us)
"""

import pathlib
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
rng = np.random.default_rng(1)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def chain(x):
    z = x / np.float32(0.8)
    k = 50
    idx = np.argpartition(-z, k - 1)[:k]
    zk = z[idx]
    order = np.argsort(-zk, kind="stable")
    idx, zk = idx[order], zk[order]
    p = softmax(zk.astype(np.float64))
    c = np.cumsum(p)
    last = int(np.searchsorted(c, 0.9)) + 1
    p = p[:last] / c[last - 1]
    return idx[np.searchsorted(np.cumsum(p), rng.random() * 1.0)]


def min_p(x):
    p = softmax(x.astype(np.float64))
    keep = np.nonzero(p >= 0.05 * p.max())[0]
    q = p[keep] / p[keep].sum()
    return keep[min(np.searchsorted(np.cumsum(q), rng.random()), len(keep) - 1)]


def full_sort(x):
    return np.argsort(-x)[0]


def top_p_full_sort(x):
    p = softmax(x.astype(np.float64))
    order = np.argsort(-p)
    c = np.cumsum(p[order])
    last = int(np.searchsorted(c, 0.9)) + 1
    return order[min(np.searchsorted(c[:last] / c[last - 1], rng.random()), last - 1)]


def median_us(f, x, reps):
    f(x)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f(x)
        ts.append(time.perf_counter() - t)
    return 1e6 * float(np.median(ts))


def main():
    print(f"numpy {np.__version__}")
    for name in ["peaked", "flat", "flat_exact"]:
        path = ROOT / "target" / "bench-data" / f"sampling_{name}.f32"
        x = np.fromfile(path, dtype="<f4")
        for f, reps in [(chain, 200), (min_p, 200), (full_sort, 30), (top_p_full_sort, 30)]:
            print(f"{name:11s} {f.__name__:16s} {median_us(f, x, reps):10.1f} us")


if __name__ == "__main__":
    main()
