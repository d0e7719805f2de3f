"""boltzmax's RBM beside scikit-learn's BernoulliRBM on the UCI digits.

Same data (data/digits.csv, pixels / 16), same hyper-parameters (lr 0.06,
batch 10, 20 epochs, PCD-1 with 10 persistent chains, unshuffled batches),
64 and 256 hidden units. Reports, per library: fit time, exact
pseudo-log-likelihood (all 64 bits, computed here in numpy by the same
formula for both models), scikit-learn's one-random-bit estimate, and the
test accuracy of logistic regression on the RBM features (p(h|v)), trained
on the train+valid split and tested on the test split of data/splits.

    cargo build --release -p boltzmax-cli
    python3 benches/peers/rbm_sklearn.py [--repeats 3]

Both fits run in this process's lifetime on the same machine, one after the
other; fit times are medians over --repeats runs. boltzmax's time is its
own measurement of the training loop (reported by `rbm train`), not the
process start-up.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "target", "release", "boltzmax")


def load():
    raw = np.loadtxt(os.path.join(ROOT, "data", "digits.csv"), delimiter=",", skiprows=1)
    x, y = raw[:, :64] / 16.0, raw[:, 64].astype(int)
    split = lambda s: np.loadtxt(os.path.join(ROOT, "data", "splits", f"digits_{s}.txt"), dtype=int)
    fit = np.concatenate([split("train"), split("valid")])
    return x, y, fit, split("test")


def softplus(a):
    return np.logaddexp(0.0, a)


def free_energy(x, w, b, c):
    # w: visible x hidden
    return -x @ b - softplus(x @ w + c).sum(axis=1)


def pseudo_likelihood_exact(x, w, b, c):
    f0 = free_energy(x, w, b, c)
    total = np.zeros(len(x))
    for i in range(x.shape[1]):
        xf = x.copy()
        xf[:, i] = 1.0 - xf[:, i]
        total += -softplus(-(free_energy(xf, w, b, c) - f0))
    return total.mean()


def accuracy(w, c, x, y, fit, test):
    feats = 1.0 / (1.0 + np.exp(-(x @ w + c)))
    clf = LogisticRegression(max_iter=5000, C=100.0)
    clf.fit(feats[fit], y[fit])
    return clf.score(feats[test], y[test])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    x, y, fit, test = load()
    print(f"digits: {x.shape[0]} rows x {x.shape[1]} pixels; lr 0.06, batch 10, 20 epochs, PCD-1")
    print(f"{'library':<10} {'hidden':>6} {'fit s (median)':>15} {'PL exact':>9} {'PL sk-style':>11} {'LR acc':>7}")
    for hidden in (64, 256):
        times, rbm = [], None
        for r in range(args.repeats):
            rbm = BernoulliRBM(n_components=hidden, learning_rate=0.06, batch_size=10, n_iter=20, random_state=r)
            t0 = time.perf_counter()
            rbm.fit(x)
            times.append(time.perf_counter() - t0)
        w, b, c = rbm.components_.T, rbm.intercept_visible_, rbm.intercept_hidden_
        sk_pl = pseudo_likelihood_exact(x, w, b, c)
        sk_one = rbm.score_samples(x).mean()
        sk_acc = accuracy(w, c, x, y, fit, test)
        sk_t = float(np.median(times))
        print(f"{'sklearn':<10} {hidden:>6} {sk_t:>15.3f} {sk_pl:>9.3f} {sk_one:>11.3f} {sk_acc:>7.4f}")

        times = []
        with tempfile.TemporaryDirectory() as d:
            model = os.path.join(d, "rbm.json")
            for r in range(args.repeats):
                out = subprocess.run(
                    [BIN, "rbm", "train", os.path.join(ROOT, "data", "digits.csv"), "--labels-last",
                     "--divide-by", "16", "--hidden", str(hidden), "--lr", "0.06", "--batch", "10",
                     "--epochs", "20", "--seed", str(r), "--model", model, "--format", "json"],
                    check=True, capture_output=True, text=True)
                rep = json.loads(out.stdout)
                times.append(rep["fit_seconds"])
            m = json.load(open(model))
            w, b, c = np.array(m["weights"]), np.array(m["visible_bias"]), np.array(m["hidden_bias"])
        bx_pl = pseudo_likelihood_exact(x, w, b, c)
        bx_acc = accuracy(w, c, x, y, fit, test)
        bx_t = float(np.median(times))
        print(f"{'boltzmax':<10} {hidden:>6} {bx_t:>15.3f} {bx_pl:>9.3f} {rep['pseudo_likelihood_sklearn']:>11.3f} {bx_acc:>7.4f}")
        print(f"{'':<10} {'':>6} {'ratio ' + format(bx_t / sk_t, '.2f'):>15}  (boltzmax / sklearn fit time)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
