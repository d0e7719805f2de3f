"""Boltzmann populations: GoodVibes' own weighting against `boltzmax ensemble`.

Runs GoodVibes' `get_boltz` (the function behind `goodvibes --boltz`) and
`boltzmax ensemble --unit Eh` on the same hartree energies and prints the
largest absolute population difference, with `--constants goodvibes` (its R
and hartree: should agree to rounding) and with CODATA 2018 (the default).

Needs: pip install goodvibes   (tested with 4.4.0); a built binary:
    cargo build --release -p boltzmax-cli
    python3 benches/peers/goodvibes_compare.py [--bin target/release/boltzmax]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from types import SimpleNamespace

from goodvibes import constants as gv_constants
from goodvibes.selectivity import get_boltz

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def read_xyz_energies(path):
    lines = open(path).read().split("\n")
    out, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        n = int(lines[i])
        out.append(float(lines[i + 1].split()[0]))
        i += n + 2
    return out


def goodvibes_populations(energies, temperature):
    # get_boltz reads qh_gibbs_free_energy (key 'gibbs') from calc_bbe objects.
    data = {f"c{i}": SimpleNamespace(qh_gibbs_free_energy=e) for i, e in enumerate(energies)}
    p = get_boltz(data, temperature, dup_list=[], key="gibbs")
    return [p[f"c{i}"] for i in range(len(energies))]


def boltzmax_populations(binary, energies, temperature, constants):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(repr(e) for e in energies) + "\n")
        name = f.name
    try:
        out = subprocess.run(
            [binary, "ensemble", name, "--unit", "Eh", "-t", repr(temperature),
             "--constants", constants, "--format", "json"],
            check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(name)
    levels = json.loads(out)["levels"]
    p = [0.0] * len(energies)
    for lv in levels:
        p[lv["index"] - 1] = lv["population"]
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "boltzmax"))
    args = ap.parse_args()
    rng = random.Random(20261129)
    sets = {
        "examples/ensemble/butane_crest.xyz (3 conformers)":
            read_xyz_energies(os.path.join(ROOT, "examples", "ensemble", "butane_crest.xyz")),
        "200 random conformers within 6 kcal/mol of -1234.5 Eh (seed 20261129)":
            [-1234.5 + rng.uniform(0.0, 6.0) / 627.5 for _ in range(200)],
        "5000 random conformers within 3 kcal/mol of -80.0 Eh (seed 20261129)":
            [-80.0 + rng.uniform(0.0, 3.0) / 627.5 for _ in range(5000)],
    }
    print(f"GoodVibes {gv_constants.__version__}, Python {sys.version.split()[0]}; "
          f"GoodVibes R = {gv_constants.GAS_CONSTANT}, J_TO_AU = {gv_constants.J_TO_AU}")
    for label, energies in sets.items():
        for t in (298.15, 100.0, 1000.0):
            ref = goodvibes_populations(energies, t)
            row = []
            for constants in ("goodvibes", "codata2018"):
                ours = boltzmax_populations(args.bin, energies, t, constants)
                d = max(abs(a - b) for a, b in zip(ours, ref))
                row.append(f"{constants}: {d:.2e}")
            print(f"{label}, T = {t} K: max |p_boltzmax - p_goodvibes| = " + ", ".join(row))


if __name__ == "__main__":
    main()
