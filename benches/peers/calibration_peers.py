"""Temperature scaling and softmax regression: boltzmax vs scikit-learn
(and netcal, where it can be installed) on the same inputs.

    pip install scikit-learn numpy scipy        # scikit-learn >= 1.8 for method="temperature"
    cargo build --release -p boltzmax --example learn_timing
    python3 benches/peers/calibration_peers.py [--repeats 7] [--blas-threads 1]

boltzmax runs through the example binary `learn_timing` (which times the
fit in-process, file reading excluded); the peers run in this process; both
report the median and the minimum wall time over the same number of repeats
(the minimum is the least disturbed by other work on a shared machine). One metric code
(below, numpy) scores every fitted temperature: NLL and ECE (15 equal-width
bins, top-label confidence) on the fitting set, and for digits also on the
test split.

Inputs:
  synthetic  10,000 x 100 logits: label gets +3, every class N(0, 2) noise,
             all times 2.5 (overconfident); numpy default_rng(0).
  digits     logits of scikit-learn's LogisticRegression(C=1) fitted on the
             digits train split (features / 16), temperature fitted on the
             valid split, judged on the test split (data/splits/).
Softmax regression: digits/iris/wine on train + valid as in
classify_reference.py, scikit-learn at tol=1e-10 (tight) and boltzmax at a
gradient tolerance of 1e-8, both reported with the objective they reach.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import sklearn
from scipy.special import log_softmax, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "target", "release", "examples", "learn_timing")


class LogitsAsDecision(ClassifierMixin, BaseEstimator):
    """A 'classifier' whose decision_function is its input: lets
    CalibratedClassifierCV calibrate precomputed logits."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def decision_function(self, X):
        return np.asarray(X)

    def predict(self, X):
        return self.classes_[np.argmax(X, axis=1)]


def nll(z, y, beta):
    lp = log_softmax(beta * z, axis=1)
    return -lp[np.arange(len(y)), y].mean()


def ece(z, y, beta, bins=15):
    p = np.exp(log_softmax(beta * z, axis=1))
    conf = p.max(1)
    right = p.argmax(1) == y
    b = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for i in range(bins):
        m = b == i
        if m.any():
            total += m.sum() / len(y) * abs(right[m].mean() - conf[m].mean())
    return total


def timed(fn, repeats):
    """(last result, (median, minimum) wall seconds)."""
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, (statistics.median(times), min(times))


def ms(t):
    return f"{t[0] * 1e3:.3f} ms (min {t[1] * 1e3:.3f})"


def ours(args, tmp, **arrays):
    paths = []
    for name, a in arrays.items():
        p = os.path.join(tmp, name + ".f64")
        np.ascontiguousarray(a, dtype=np.float64).tofile(p)
        paths.append(p)
    out = subprocess.run([BIN, *args[:1], *paths, *map(str, args[1:])], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def temperature_row(name, z, y, repeats, tmp, z_test=None, y_test=None):
    k = z.shape[1]
    r = ours(["temperature", k, repeats], tmp, logits=z, labels=y.astype(np.float64))
    rows = [("boltzmax (Halley/Newton on beta)", r["beta"], (r["seconds"], r["seconds_min"]))]
    rt = ours(["temperature-threads", k, repeats], tmp, logits=z, labels=y.astype(np.float64))
    assert rt["beta"] == r["beta"], "threads must give the same answer bitwise"
    threaded = ("boltzmax, passes on all threads", rt["beta"], (rt["seconds"], rt["seconds_min"]))

    # scikit-learn, public API: CalibratedClassifierCV on a frozen
    # "classifier" whose decision function is the logits.
    est = LogitsAsDecision().fit(z, y)

    def sk_public():
        c = CalibratedClassifierCV(FrozenEstimator(est), method="temperature").fit(z, y)
        return c.calibrated_classifiers_[0].calibrators[0].beta_

    beta_pub, t_pub = timed(sk_public, repeats)
    rows.append(("scikit-learn CalibratedClassifierCV", float(beta_pub), t_pub))
    # scikit-learn's calibrator alone (no wrapper overhead): the fastest
    # form of the peer.
    from sklearn.calibration import _TemperatureScaling

    beta_core, t_core = timed(lambda: _TemperatureScaling().fit(z, y).beta_, repeats)
    rows.append(("scikit-learn _TemperatureScaling.fit", float(beta_core), t_core))
    # netcal, where it imports: it takes probabilities (we pass softmax(z),
    # computed outside the timing) and its `temperature` multiplies the
    # logits, i.e. it is beta = 1/T.
    try:
        import warnings

        from netcal.scaling import TemperatureScaling
        from scipy.special import softmax

        probs = softmax(z, axis=1)

        def netcal_fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ts = TemperatureScaling()
                ts.fit(probs, y, tensorboard=False)
            return float(np.asarray(ts.temperature).ravel()[0])

        beta_nc, t_nc = timed(netcal_fit, repeats)
        rows.append(("netcal TemperatureScaling (probabilities in)", beta_nc, t_nc))
    except ImportError:
        pass

    print(f"\n## {name}: {z.shape[0]} x {k} logits\n")
    hdr = "| fit | T | T / T_sklearn - 1 | NLL | ECE |"
    if z_test is not None:
        hdr += " test NLL | test ECE |"
    print(hdr + " time: median (min) |")
    print("|" + "---|" * (hdr.count("|")))
    t_sk = 1.0 / rows[1][1]
    for label, beta, sec in rows:
        t = 1.0 / beta
        line = f"| {label} | {t:.12g} | {t / t_sk - 1:+.2e} | {nll(z, y, beta):.6f} | {ece(z, y, beta):.6f} |"
        if z_test is not None:
            line += f" {nll(z_test, y_test, beta):.6f} | {ece(z_test, y_test, beta):.6f} |"
        print(line + f" {ms(sec)} |")
    label, beta, sec = threaded
    line = f"| {label} | {1 / beta:.12g} | {(1 / beta) / t_sk - 1:+.2e} | (same) | |"
    if z_test is not None:
        line += " | |"
    print(line + f" {ms(sec)} |")
    uncal = f"| uncalibrated (T = 1) | 1 | | {nll(z, y, 1.0):.6f} | {ece(z, y, 1.0):.6f} |"
    if z_test is not None:
        uncal += f" {nll(z_test, y_test, 1.0):.6f} | {ece(z_test, y_test, 1.0):.6f} |"
    print(uncal + " |")
    fastest = [min(sec[i] for _, _, sec in rows[1:]) for i in (0, 1)]
    print(f"\nspeed-up over the fastest peer: {fastest[0] / rows[0][2][0]:.1f}x by medians, "
          f"{fastest[1] / rows[0][2][1]:.1f}x by minimums (single-threaded; on all threads "
          f"{fastest[0] / threaded[2][0]:.1f}x and {fastest[1] / threaded[2][1]:.1f}x) "
          f"(bar: >= 5x); |T/T_sklearn - 1| = {abs((1 / rows[0][1]) / t_sk - 1):.1e} (bar: <= 1e-7); "
          f"boltzmax used {r['evaluations']} passes over the data")


def objective(W, b, X, y, C):
    Z = X @ W.T + b
    n = len(y)
    return np.mean(logsumexp(Z, axis=1) - Z[np.arange(n), y]) + (W**2).sum() / (2 * C * n)


def load(name):
    d = np.loadtxt(os.path.join(ROOT, "data", f"{name}.csv"), delimiter=",", skiprows=1)
    X, y = d[:, :-1], d[:, -1].astype(int)
    s = {p: np.loadtxt(os.path.join(ROOT, "data", "splits", f"{name}_{p}.txt"), dtype=int) for p in ("train", "valid", "test")}
    return X, y, s


def regression_rows(repeats, tmp):
    print("\n## Softmax regression, C = 1, train + valid (scikit-learn's objective)\n")
    # scipy's evaluation count, seen by wrapping the minimize that
    # scikit-learn's lbfgs path calls (n_iter_ alone hides line-search
    # evaluations).
    import sklearn.linear_model._logistic as sk_logistic

    seen = {}
    real_minimize = sk_logistic.optimize.minimize

    def counting_minimize(*a, **kw):
        r = real_minimize(*a, **kw)
        seen["nfev"] = r.nfev
        return r

    print("| data | n x d | scikit-learn tol=1e-10: objective | iterations / evaluations | time | boltzmax gtol=1e-8: objective | iterations / evaluations | time | ratio ours / sklearn (medians) | sklearn default tol=1e-4: objective | time |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in ("digits", "iris", "wine"):
        X, y, s = load(name)
        fit = np.sort(np.concatenate([s["train"], s["valid"]]))
        Xf, yf = X[fit], y[fit]
        if name == "digits":
            Xf = Xf / 16.0
        if name == "wine":
            Xf = (Xf - Xf.mean(0)) / Xf.std(0)
        tight, t_tight = timed(lambda: LogisticRegression(C=1.0, tol=1e-10, max_iter=100000).fit(Xf, yf), repeats)
        sk_logistic.optimize.minimize = counting_minimize
        try:
            LogisticRegression(C=1.0, tol=1e-10, max_iter=100000).fit(Xf, yf)
        finally:
            sk_logistic.optimize.minimize = real_minimize
        loose, t_loose = timed(lambda: LogisticRegression(C=1.0).fit(Xf, yf), repeats)
        r = ours(["regression", Xf.shape[1], 1.0, 1e-8, repeats], tmp, x=Xf, labels=yf.astype(np.float64))
        o_tight = objective(tight.coef_, tight.intercept_, Xf, yf, 1.0)
        o_loose = objective(loose.coef_, loose.intercept_, Xf, yf, 1.0)
        print(f"| {name} | {Xf.shape[0]} x {Xf.shape[1]} | {o_tight:.12f} | {int(tight.n_iter_[0])} / {seen['nfev']} | {ms(t_tight)} | "
              f"{r['objective']:.12f} | {r['iterations']} / {r['evaluations']} | {ms((r['seconds'], r['seconds_min']))} | {r['seconds'] / t_tight[0]:.3f} | "
              f"{o_loose:.12f} | {ms(t_loose)} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="limit the peers' BLAS/OpenMP pools (threadpoolctl); on a loaded machine 1 avoids "
                         "oversubscription, which slows scikit-learn's fits by 10x or more")
    args = ap.parse_args()
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)
    if not os.path.exists(BIN):
        sys.exit(f"build first: cargo build --release -p boltzmax --example learn_timing ({BIN} missing)")
    print(f"# calibration peers, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
          f"Python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}; "
          f"medians of {args.repeats} repeats; peers' thread pools: "
          f"{'limited to ' + str(args.blas_threads) if args.blas_threads is not None else 'default'}; "
          f"load average before the run {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    try:
        import netcal

        print(f"netcal {netcal.__version__}: TemperatureScaling timed on softmax(logits) (it takes probabilities)")
    except ImportError:
        print("netcal: not installed (it requires torch >= 2.3, pyro-ppl and gpytorch: several GB; see docs/calibration.md)")

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        n, k = 10_000, 100
        y = rng.integers(0, k, n)
        z = rng.normal(0.0, 2.0, (n, k))
        z[np.arange(n), y] += 3.0
        z *= 2.5
        temperature_row("synthetic", z, y, args.repeats, tmp)

        X, yd, s = load("digits")
        X = X / 16.0
        clf = LogisticRegression(C=1.0, tol=1e-10, max_iter=100000).fit(X[s["train"]], yd[s["train"]])
        zv, zt = clf.decision_function(X[s["valid"]]), clf.decision_function(X[s["test"]])
        temperature_row("digits (LogisticRegression C=1 on train; fit on valid)", zv, yd[s["valid"]], args.repeats, tmp,
                        z_test=zt, y_test=yd[s["test"]])

        regression_rows(args.repeats, tmp)


if __name__ == "__main__":
    main()
