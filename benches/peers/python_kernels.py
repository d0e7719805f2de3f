#!/usr/bin/env python3
"""boltzmax against every Python peer, side by side in one process.

Times softmax, log_softmax and logsumexp of boltzmax, numpy (shift, exp,
normalise), scipy.special, torch (1 thread and all threads), jax (jitted,
synchronised) and ONNX Runtime (Softmax / LogSoftmax / ReduceLogSumExp ops,
output preallocated through IO binding) on the same arrays, beside a copy
of the same bytes (np.copyto into a preallocated array) as the memory floor.
Peers that are not installed are skipped and said so.

Then the accuracy run: the worst error in ulp of each implementation
against a 50-digit mpmath reference, on random rows and on the edge cases
of boltzmax's convention table.

    pip install ./crates/boltzmax-py numpy scipy mpmath matplotlib
    pip install onnxruntime onnx "jax[cpu]" torch      # optional peers
    python benches/peers/python_kernels.py --markdown docs/benchmarks-python.md --plot docs/figures/python_peers.png

Prints medians (and writes the markdown table and the bar chart when
asked). The machine and date are recorded in the output.
"""

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import boltzmax as bm

SHAPES_F32 = [(1, 1000), (1, 32000), (1, 128256), (64, 1024), (256, 32000), (4096, 4096), (16, 1048576)]
SHAPES_F64 = [(4096, 4096)]


def machine():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name")), "?")
    except OSError:
        model = platform.processor() or "?"
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def extension_check():
    """Where the extension module comes from, and a warning when it is older
    than the Rust sources of the checkout it sits in (timing stale code: a
    `maturin develop` build does not follow later commits)."""
    import pathlib

    pkg = pathlib.Path(bm.__file__).resolve().parent
    so = sorted(pkg.glob("_boltzmax*.so")) + sorted(pkg.glob("_boltzmax*.pyd"))
    root = next((p for p in pkg.parents if (p / "crates" / "boltzmax" / "src").is_dir()), None)
    if not so or root is None:
        return "extension: an installed package (no source checkout to compare with)"
    built = so[0].stat().st_mtime
    newest = max(p.stat().st_mtime for p in (root / "crates").rglob("*.rs"))
    stamp = datetime.datetime.fromtimestamp(built, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = f"extension {so[0]} built {stamp}"
    if newest > built:
        note += f" -- WARNING: older than the Rust sources under {root}; rebuild it before timing"
    return note


# perf_counter (wall time) by default; --clock cpu switches to the process's
# CPU time, which on a loaded shared machine is far closer to what a quiet
# machine's wall time would be for single-threaded work (time spent waiting
# for a core is not counted). For multi-threaded peers CPU time is the total
# over their threads, so their "all threads" columns then read as CPU cost.
CLOCK = time.perf_counter
CLOCK_NAME = "wall time (time.perf_counter)"
LOAD = "?"


def bench(fn, min_time=0.02, repeats=7):
    """Median seconds per call: calls batched to take >= min_time each."""
    fn()
    n = 1
    while True:
        t0 = CLOCK()
        for _ in range(n):
            fn()
        dt = CLOCK() - t0
        if dt >= min_time:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        t0 = CLOCK()
        for _ in range(n):
            fn()
        samples.append((CLOCK() - t0) / n)
    return statistics.median(samples)


class Peers:
    """Imports what is installed; each entry maps an op to a callable factory."""

    def __init__(self):
        self.skipped = {}
        self.versions = {"boltzmax": bm.__version__ + " (kernels %s/%s)" % bm.kernels()}
        try:
            import scipy
            import scipy.special

            self.scipy = scipy.special
            self.versions["scipy"] = scipy.__version__
        except ImportError as e:
            self.scipy = None
            self.skipped["scipy"] = str(e)
        try:
            import torch

            self.torch = torch
            self.versions["torch"] = torch.__version__
            self.torch_threads = torch.get_num_threads()
        except ImportError as e:
            self.torch = None
            self.skipped["torch"] = str(e)
        try:
            import jax

            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp

            self.jax, self.jnp = jax, jnp
            self.versions["jax"] = jax.__version__
        except ImportError as e:
            self.jax = None
            self.skipped["jax"] = str(e)
        try:
            import onnx
            import onnxruntime as ort

            self.onnx, self.ort = onnx, ort
            self.versions["onnxruntime"] = ort.__version__
        except ImportError as e:
            self.ort = None
            self.skipped["onnxruntime"] = str(e)

    # ---- ONNX Runtime: one-node models, IO binding to preallocated output
    def ort_session(self, op, dtype, shape, threads):
        from onnx import TensorProto, helper

        et = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
        out_shape = list(shape) if op != "ReduceLogSumExp" else [shape[0], 1]
        if op == "ReduceLogSumExp":
            axes = helper.make_tensor("axes", TensorProto.INT64, [1], [-1])
            node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=1)
            inits = [axes]
        else:
            node = helper.make_node(op, ["x"], ["y"], axis=-1)
            inits = []
        graph = helper.make_graph(
            [node],
            "g",
            [helper.make_tensor_value_info("x", et, list(shape))],
            [helper.make_tensor_value_info("y", et, out_shape)],
            initializer=inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 8
        so = self.ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        # Idle ORT workers spin by default; on a small shared machine that
        # starves every other measurement in the process.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return self.ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]), out_shape

    def ort_fn(self, op, x, threads):
        sess, out_shape = self.ort_session(op, x.dtype.type, x.shape, threads)
        out = np.empty(out_shape, dtype=x.dtype)
        io = sess.io_binding()
        io.bind_cpu_input("x", x)
        io.bind_output("y", "cpu", 0, x.dtype, out_shape, out.ctypes.data)
        # The closure holds `out` (and the session): ORT writes into its
        # memory, which must outlive every call.
        return (lambda out=out, sess=sess, io=io: sess.run_with_iobinding(io)), out


def numpy_softmax(x, out):
    np.subtract(x, x.max(axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out


def numpy_log_softmax(x, out):
    m = x.max(axis=-1, keepdims=True)
    np.subtract(x, m, out=out)
    out -= np.log(np.exp(out).sum(axis=-1, keepdims=True))
    return out


def numpy_logsumexp(x):
    m = x.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))[..., 0]


def candidates(P, op, x):
    """(name, zero-argument callable) pairs for one op on one array."""
    out = np.empty_like(x)
    c = []
    if op == "softmax":
        c.append(("boltzmax", lambda: bm.softmax(x, out=out, threads=1)))
        c.append(("boltzmax-mt", lambda: bm.softmax(x, out=out)))
        c.append(("numpy", lambda: numpy_softmax(x, out)))
        if P.scipy:
            c.append(("scipy", lambda: P.scipy.softmax(x, axis=-1)))
    elif op == "log_softmax":
        c.append(("boltzmax", lambda: bm.log_softmax(x, out=out, threads=1)))
        c.append(("boltzmax-mt", lambda: bm.log_softmax(x, out=out)))
        c.append(("numpy", lambda: numpy_log_softmax(x, out)))
        if P.scipy:
            c.append(("scipy", lambda: P.scipy.log_softmax(x, axis=-1)))
    else:
        c.append(("boltzmax", lambda: bm.logsumexp(x, axis=-1, threads=1)))
        c.append(("boltzmax-mt", lambda: bm.logsumexp(x, axis=-1)))
        c.append(("numpy", lambda: numpy_logsumexp(x)))
        if P.scipy:
            c.append(("scipy", lambda: P.scipy.logsumexp(x, axis=-1)))
    if P.torch:
        t = P.torch
        tx = t.from_numpy(x)
        f = {
            "softmax": lambda: t.nn.functional.softmax(tx, dim=-1),
            "log_softmax": lambda: t.nn.functional.log_softmax(tx, dim=-1),
            "logsumexp": lambda: t.logsumexp(tx, dim=-1),
        }[op]

        c.append(("torch-1t", ("torch", 1, f)))
        c.append(("torch", ("torch", P.torch_threads, f)))
    if P.jax:
        jx = P.jax.device_put(x)
        g = {
            "softmax": P.jax.jit(lambda v: P.jax.nn.softmax(v, axis=-1)),
            "log_softmax": P.jax.jit(lambda v: P.jax.nn.log_softmax(v, axis=-1)),
            "logsumexp": P.jax.jit(lambda v: P.jax.nn.logsumexp(v, axis=-1)),
        }[op]
        c.append(("jax", lambda: g(jx).block_until_ready()))
    if P.ort:
        ort_op = {"softmax": "Softmax", "log_softmax": "LogSoftmax", "logsumexp": "ReduceLogSumExp"}[op]
        for threads, name in ((1, "onnxruntime-1t"), (0, "onnxruntime")):
            try:
                fn, _ = P.ort_fn(ort_op, x, threads)
                c.append((name, fn))
            except Exception as e:  # an op/dtype ORT lacks: say so
                P.skipped[f"{name} {op} {x.dtype}"] = str(e).splitlines()[0][:120]
    return c


def timed(P, entry):
    if isinstance(entry, tuple):  # torch with a thread setting
        _, threads, f = entry
        P.torch.set_num_threads(threads)
        try:
            return bench(f)
        finally:
            P.torch.set_num_threads(P.torch_threads)
    return bench(entry)


def run_speed(P, ops, shapes, quick):
    rows = []
    for dtype, shape_list in ((np.float32, shapes[0]), (np.float64, shapes[1])):
        for shape in shape_list:
            rng = np.random.default_rng(1)
            x = (rng.standard_normal(shape) * 3).astype(dtype)
            out = np.empty_like(x)
            copy_t = bench(lambda: np.copyto(out, x))
            red = np.empty(shape[0], dtype=dtype)
            read_t = bench(lambda: np.sum(x, axis=-1, out=red))
            for op in ops:
                res = {}
                for name, entry in candidates(P, op, x):
                    res[name] = timed(P, entry)
                floor = read_t if op == "logsumexp" else copy_t
                rows.append((op, np.dtype(dtype).name, shape, x.size, floor, res))
                best_peer = min((v, k) for k, v in res.items() if not k.startswith("boltzmax"))
                print(
                    f"{op:12s} {np.dtype(dtype).name:8s} {str(shape):16s} boltzmax {res['boltzmax']*1e9/x.size:7.3f} ns/el "
                    f"({res['boltzmax']/floor:5.2f}x floor)  best peer {best_peer[1]} {best_peer[0]*1e9/x.size:7.3f} ns/el  "
                    f"speed-up {best_peer[0]/res['boltzmax']:5.2f}x",
                    flush=True,
                )
    return rows


# ---------------------------------------------------------------- accuracy
def exact(x, op):
    import mpmath

    mpmath.mp.dps = 50
    row = [mpmath.mpf(float(v)) for v in x]
    if any(mpmath.isnan(v) for v in row) or not row:
        return None
    m = max(row)
    if not mpmath.isfinite(m):
        return None
    e = [mpmath.exp(v - m) for v in row]
    s = mpmath.fsum(e)
    # ln(s) as log1p of the terms other than the maximum's: at 50 digits
    # 1 + 1e-235 rounds to 1, and ln s would come out as exactly 0.
    k = row.index(m)
    ln_s = mpmath.log1p(mpmath.fsum(v for i, v in enumerate(e) if i != k))
    if op == "softmax":
        return np.array([float(v / s) for v in e])
    if op == "log_softmax":
        return np.array([float(v - m - ln_s) for v in row])
    return np.array([float(m + ln_s)])


def ulps(got, ref, dtype):
    got = np.asarray(got, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    same = (got == ref) | (np.isnan(got) & np.isnan(ref))
    sp = np.maximum(np.spacing(np.abs(ref).astype(dtype)).astype(np.float64), np.finfo(dtype).smallest_subnormal)
    with np.errstate(invalid="ignore"):
        err = np.where(same, 0.0, np.abs(got - ref) / sp)
    err[np.isnan(err)] = np.inf
    return float(err.max()) if err.size else 0.0


def accuracy(P):
    rng = np.random.default_rng(7)
    cases = {
        "random n=1000 spread 10": lambda d: (rng.standard_normal(1000) * 10).astype(d),
        "random n=100 spread 1e3": lambda d: (rng.standard_normal(100) * 1e3).astype(d),
        "[0, -40]": lambda d: np.array([0, -40], dtype=d),
        "[1000, 1000, 999]": lambda d: np.array([1000, 1000, 999], dtype=d),
        "tiny spread 1e-6": lambda d: (1 + rng.standard_normal(500) * 1e-6).astype(d),
    }
    funcs = {
        "softmax": {
            "boltzmax": lambda x: bm.softmax(x),
            "numpy": lambda x: numpy_softmax(x[None, :], np.empty((1, x.size), x.dtype))[0],
        },
        "log_softmax": {
            "boltzmax": lambda x: bm.log_softmax(x),
            "numpy": lambda x: numpy_log_softmax(x[None, :], np.empty((1, x.size), x.dtype))[0],
        },
        "logsumexp": {
            "boltzmax": lambda x: bm.logsumexp(x),
            "numpy": lambda x: numpy_logsumexp(x[None, :])[0],
        },
    }
    if P.scipy:
        funcs["softmax"]["scipy"] = lambda x: P.scipy.softmax(x)
        funcs["log_softmax"]["scipy"] = lambda x: P.scipy.log_softmax(x)
        funcs["logsumexp"]["scipy"] = lambda x: P.scipy.logsumexp(x)
    if P.torch:
        t = P.torch
        funcs["softmax"]["torch"] = lambda x: t.softmax(t.from_numpy(x), -1).numpy()
        funcs["log_softmax"]["torch"] = lambda x: t.log_softmax(t.from_numpy(x), -1).numpy()
        funcs["logsumexp"]["torch"] = lambda x: t.logsumexp(t.from_numpy(x), -1).numpy()
    if P.jax:
        funcs["softmax"]["jax"] = lambda x: np.asarray(P.jax.nn.softmax(x))
        funcs["log_softmax"]["jax"] = lambda x: np.asarray(P.jax.nn.log_softmax(x))
        funcs["logsumexp"]["jax"] = lambda x: np.asarray(P.jax.nn.logsumexp(x))
    if P.ort:
        def ortf(op):
            def f(x):
                fn, out = P.ort_fn(op, x[None, :], 1)
                fn()
                return out.ravel()
            return f
        funcs["softmax"]["onnxruntime"] = ortf("Softmax")
        funcs["log_softmax"]["onnxruntime"] = ortf("LogSoftmax")
        funcs["logsumexp"]["onnxruntime"] = ortf("ReduceLogSumExp")
    table = []
    for dtype in (np.float32, np.float64):
        for cname, make in cases.items():
            x = make(dtype)
            for op, impls in funcs.items():
                ref = exact(x, op)
                errs = {}
                for name, f in impls.items():
                    try:
                        errs[name] = ulps(f(x.copy()), ref, dtype)
                    except Exception as e:
                        errs[name] = f"error: {type(e).__name__}"
                table.append((np.dtype(dtype).name, cname, op, errs))
                print(f"{np.dtype(dtype).name} {cname:28s} {op:12s} " + "  ".join(f"{k}={v if isinstance(v, str) else round(v, 1)}" for k, v in errs.items()), flush=True)
    return table


def edge_cases(P):
    """What each implementation returns on the convention table's inputs."""
    inf = np.inf
    cases = {
        "one +inf [1, inf]": np.array([1.0, inf]),
        "two +inf [inf, inf]": np.array([inf, inf]),
        "all -inf": np.array([-inf, -inf]),
        "empty": np.array([], dtype=np.float64),
    }
    impls = {"boltzmax": bm.softmax}
    if P.scipy:
        impls["scipy"] = P.scipy.softmax
    if P.torch:
        impls["torch"] = lambda x: P.torch.softmax(P.torch.from_numpy(x), -1).numpy()
    if P.jax:
        impls["jax"] = lambda x: np.asarray(P.jax.nn.softmax(x))
    out = []
    for cname, x in cases.items():
        res = {}
        for name, f in impls.items():
            try:
                with np.errstate(all="ignore"):
                    res[name] = np.array2string(np.asarray(f(x.copy())), precision=3)
            except Exception as e:
                res[name] = f"{type(e).__name__}"
        out.append((cname, res))
        print(f"softmax {cname:22s} " + "  ".join(f"{k}: {v}" for k, v in res.items()))
    return out


def write_markdown(path, rows, acc, edges, P, cmd):
    lines = [
        "# Python peers, side by side",
        "",
        f"Machine: {machine()}. Date: {datetime.date.today()}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in P.versions.items())
        + ".",
        "",
        f"Command: `{cmd}`",
        "",
        extension_check().replace(str(os.path.expanduser("~")), "~") + ".",
        "",
        "Median time per call in ns per element; `boltzmax GB/s` is the bytes the operation must move (input read, "
        "plus the output written for softmax and log_softmax) over boltzmax's time (the floor is a copy of the same bytes for softmax and log_softmax, "
        "a read-only row sum for logsumexp)); `x floor` is boltzmax's time over the floor's; the last column is the "
        "fastest peer's time over boltzmax's (above 1: boltzmax is faster); `boltzmax` is one thread, `boltzmax-mt` "
        "all cores above the library's size threshold. "
        f"Clock: {CLOCK_NAME}. The machine is shared (2 cores) and was loaded by other work during the run "
        f"(load average {LOAD}).",
        "",
    ]
    names = sorted({k for r in rows for k in r[5]} - {"boltzmax"})
    lines.append(
        "| op | dtype | shape | floor | boltzmax | boltzmax GB/s | x floor | " + " | ".join(names) + " | best peer / boltzmax |"
    )
    lines.append("|" + "---|" * (8 + len(names)))
    for op, dt, shape, size, floor, res in rows:
        b = res["boltzmax"]
        cells = [f"{res[n]*1e9/size:.3f}" if n in res else "-" for n in names]
        best = min(v for k, v in res.items() if not k.startswith("boltzmax"))
        # Bytes the operation must move: read x, and write the output for
        # softmax / log_softmax (logsumexp's output is negligible).
        moved = np.dtype(dt).itemsize * size * (1 if op == "logsumexp" else 2)
        lines.append(
            f"| {op} | {dt} | {shape} | {floor*1e9/size:.3f} | {b*1e9/size:.3f} | {moved/b/1e9:.1f} | {b/floor:.2f} | "
            + " | ".join(cells)
            + f" | {best/b:.2f} |"
        )
    if acc:
        lines += ["", "## Accuracy: worst error in ulp against a 50-digit reference (mpmath)", ""]
        names = sorted({k for r in acc for k in r[3]})
        lines.append("| dtype | input | op | " + " | ".join(names) + " |")
        lines.append("|" + "---|" * (3 + len(names)))
        for dt, cname, op, errs in acc:
            cells = [(errs[n] if isinstance(errs.get(n), str) else f"{errs[n]:.1f}") if n in errs else "-" for n in names]
            lines.append(f"| {dt} | {cname} | {op} | " + " | ".join(cells) + " |")
    if edges:
        lines += ["", "## Edge cases: softmax of the convention table's inputs", ""]
        names = sorted({k for _, r in edges for k in r})
        lines.append("| input | " + " | ".join(names) + " |")
        lines.append("|" + "---|" * (1 + len(names)))
        for cname, res in edges:
            lines.append(f"| {cname} | " + " | ".join(res.get(n, "-") for n in names) + " |")
    if P.skipped:
        lines += ["", "Skipped: " + "; ".join(f"{k} ({v})" for k, v in P.skipped.items())]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def plot(path, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = [r for r in rows if r[0] == "softmax"]
    names = ["boltzmax"] + sorted({k for r in sel for k in r[5]} - {"boltzmax"})
    fig, ax = plt.subplots(figsize=(11, 4.5))
    w = 0.8 / len(names)
    for i, n in enumerate(names):
        vals = [r[5][n] * 1e9 / r[3] if n in r[5] else np.nan for r in sel]
        ax.bar(np.arange(len(sel)) + i * w, vals, w, label=n)
    ax.plot(np.arange(len(sel)) + 0.4 - w / 2, [r[4] * 1e9 / r[3] for r in sel], "k_", markersize=20, label="copy floor")
    ax.set_xticks(np.arange(len(sel)) + 0.4 - w / 2)
    ax.set_xticklabels([f"{r[1]}\n{r[2]}" for r in sel], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ns per element (median, lower is better)")
    ax.set_title("softmax along the last axis, one process, same arrays")
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ops", default="softmax,log_softmax,logsumexp")
    ap.add_argument("--quick", action="store_true", help="small shapes only")
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    ap.add_argument("--markdown")
    ap.add_argument("--plot")
    a = ap.parse_args()
    global CLOCK, CLOCK_NAME, LOAD
    if a.clock == "cpu":
        CLOCK, CLOCK_NAME = time.process_time, "process CPU time (time.process_time)"
    LOAD = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    P = Peers()
    print(machine())
    print("versions:", P.versions)
    print(extension_check())
    if P.skipped:
        print("skipped:", P.skipped)
    shapes = (SHAPES_F32[:4], []) if a.quick else (SHAPES_F32, SHAPES_F64)
    rows = [] if a.no_speed else run_speed(P, a.ops.split(","), shapes, a.quick)
    acc = [] if a.no_accuracy else accuracy(P)
    edges = edge_cases(P)
    cmd = "python " + " ".join(sys.argv)
    if a.markdown:
        write_markdown(a.markdown, rows, acc, edges, P, cmd)
    if a.plot:
        plot(a.plot, rows)


if __name__ == "__main__":
    main()
