"""Regenerate the data files in this folder from scikit-learn's bundled copies.

    pip install scikit-learn   # 1.9.1 was used; load_* read files shipped in the package, no network
    python3 data/make_data.py

Writes, for each of digits, iris and wine:
  <name>.csv                  header, the features as scikit-learn gives them
                              (unscaled), then the integer class label `label`
  splits/<name>_train.txt     row indices (0-based, one per line, ascending)
  splits/<name>_valid.txt
  splits/<name>_test.txt

The splits are made in two seeded, stratified steps:
  1. train_test_split(all rows, test_size=0.25, stratify=y, random_state=0)
     -> test (25 %) and "fit" (75 %).  The 75 % "fit" set (= train + valid)
     is the training set behind the reference softmax-regression optima of
     issue 7 (digits 0.2240350001, iris 0.2225670970, wine 0.0839747418).
  2. train_test_split(fit rows, test_size=1/3, stratify=y[fit], random_state=0)
     -> valid (25 % of all rows) and train (50 % of all rows), used where a
     model is trained on one set and calibrated on another.
Running this script again must reproduce every file byte for byte.
"""

import os

import numpy as np
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))


def clean(name):
    # Plain identifiers in the header: no parentheses, spaces or slashes.
    out = name.replace(" (cm)", "_cm").replace(" ", "_").replace("/", "_")
    return out


def fmt(v, integer):
    # Integers stay integers; floats are written with repr, which round-trips
    # exactly to the float64 scikit-learn holds.
    return str(int(v)) if integer else repr(float(v))


def write(name, bunch):
    X, y = bunch.data, bunch.target
    integer = bool(np.all(X == np.round(X)))
    header = [clean(f) for f in bunch.feature_names] + ["label"]
    with open(os.path.join(HERE, f"{name}.csv"), "w", newline="\n") as f:
        f.write(",".join(header) + "\n")
        for row, label in zip(X, y):
            f.write(",".join(fmt(v, integer) for v in row) + f",{int(label)}\n")

    idx = np.arange(len(y))
    fit, test = train_test_split(idx, test_size=0.25, stratify=y, random_state=0)
    train, valid = train_test_split(
        fit, test_size=1 / 3, stratify=y[fit], random_state=0
    )
    os.makedirs(os.path.join(HERE, "splits"), exist_ok=True)
    for part, rows in [("train", train), ("valid", valid), ("test", test)]:
        with open(os.path.join(HERE, "splits", f"{name}_{part}.txt"), "w") as f:
            f.write("".join(f"{i}\n" for i in np.sort(rows)))
    print(name, X.shape, "train", len(train), "valid", len(valid), "test", len(test))


write("digits", load_digits())
write("iris", load_iris())
write("wine", load_wine())
