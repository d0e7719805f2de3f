"""Reference optima and test accuracies of scikit-learn's LogisticRegression
on the shipped data and splits (the numbers the Rust tests in
crates/boltzmax/tests/classify_reference.rs check against).

    pip install scikit-learn numpy scipy
    python3 benches/peers/classify_reference.py

Setup (reproduces issue 7's optima): fit on train + valid (75 %), C = 1,
multinomial, lbfgs at tol 1e-10; digits features divided by 16, iris raw,
wine standardised with mean and (population) std of the fit rows.
Objective = mean cross-entropy + ||W||^2 / (2 C n), intercepts not penalised.
"""

import os
import warnings

import numpy as np
import sklearn
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def load(name):
    d = np.loadtxt(os.path.join(ROOT, "data", f"{name}.csv"), delimiter=",", skiprows=1)
    X, y = d[:, :-1], d[:, -1].astype(int)
    split = {
        p: np.loadtxt(os.path.join(ROOT, "data", "splits", f"{name}_{p}.txt"), dtype=int)
        for p in ("train", "valid", "test")
    }
    return X, y, split


def prep(name, Xfit, Xtest):
    if name == "digits":
        return Xfit / 16.0, Xtest / 16.0
    if name == "wine":
        mu, sd = Xfit.mean(0), Xfit.std(0)
        return (Xfit - mu) / sd, (Xtest - mu) / sd
    return Xfit, Xtest


def objective(W, b, X, y, C):
    Z = X @ W.T + b
    n = len(y)
    return np.mean(logsumexp(Z, axis=1) - Z[np.arange(n), y]) + (W**2).sum() / (2 * C * n)


print("scikit-learn", sklearn.__version__)
for name in ("digits", "iris", "wine"):
    X, y, s = load(name)
    fit = np.sort(np.concatenate([s["train"], s["valid"]]))
    Xf, Xt = prep(name, X[fit], X[s["test"]])
    clf = LogisticRegression(C=1.0, tol=1e-10, max_iter=100000).fit(Xf, y[fit])
    obj = objective(clf.coef_, clf.intercept_, Xf, y[fit], 1.0)
    acc = clf.score(Xt, y[s["test"]])
    ncorrect = int(round(acc * len(s["test"])))
    print(f"{name}: objective {obj:.10f}  test accuracy {acc:.6f} ({ncorrect}/{len(s['test'])})  iterations {clf.n_iter_[0]}")
