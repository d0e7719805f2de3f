"""The sampling benchmark's peer: numpy doing what `cargo bench --bench
sampling` times, on the same logits (written by that bench to
target/bench-data/sampling_<name>.f32; run it first).

- chain: temperature 0.8, top-k 50 by argpartition, top-p 0.9 over the
  sorted top-k, one inverse-CDF draw (what a careful numpy sampler does);
- min_p: min-p 0.05 (probabilities over the whole vocabulary, threshold,
  renormalise), one draw;
- full_sort: argsort of the logits (the yardstick);
- top_p_full_sort: top-p 0.9 by a full sort (the naive nucleus).

Where torch imports (it is optional), the same steps as Hugging Face's
warpers do them in torch, on one thread (`torch.set_num_threads(1)`):
chain = divide, `topk(50)` (sorted), softmax, cumsum, nucleus, one
`multinomial` draw; min_p = softmax, threshold, `multinomial`;
full_sort = `torch.sort`; top_p_full_sort = full sort, cumsum, nucleus,
`multinomial`.

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


def torch_steps():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1)

    def chain(x):
        z = x / 0.8
        v, idx = torch.topk(z, 50)
        p = torch.softmax(v.double(), 0)
        c = torch.cumsum(p, 0)
        last = int(torch.searchsorted(c, 0.9)) + 1
        return idx[torch.multinomial(p[:last], 1, generator=gen)]

    def min_p(x):
        p = torch.softmax(x.double(), 0)
        p = torch.where(p >= 0.05 * p.max(), p, 0.0)
        return torch.multinomial(p, 1, generator=gen)

    def full_sort(x):
        return torch.sort(x, descending=True).indices[0]

    def top_p_full_sort(x):
        p, order = torch.sort(torch.softmax(x.double(), 0), descending=True)
        c = torch.cumsum(p, 0)
        last = int(torch.searchsorted(c, 0.9)) + 1
        return order[torch.multinomial(p[:last], 1, generator=gen)]

    return torch, [chain, min_p, full_sort, top_p_full_sort]


def main():
    print(f"numpy {np.__version__}")
    ts = torch_steps()
    if ts:
        print(f"torch {ts[0].__version__} (one thread)")
    for name in ["peaked", "flat", "flat_exact"]:
        path = ROOT / "target" / "bench-data" / f"sampling_{name}.f32"
        x = np.fromfile(path, dtype="<f4")
        for f, reps in [(chain, 200), (min_p, 200), (full_sort, 30), (top_p_full_sort, 30)]:
            print(f"{name:11s} {f.__name__:16s} {median_us(f, x, reps):10.1f} us")
        if ts:
            xt = ts[0].from_numpy(x.copy())
            for f, reps in zip(ts[1], [200, 200, 30, 30]):
                print(f"{name:11s} torch {f.__name__:10s} {median_us(f, xt, reps):10.1f} us")


if __name__ == "__main__":
    main()
