"""The ensemble API from Python, against closed forms."""

import math

import numpy as np
import pytest

import boltzmax as bm


def test_two_level_closed_form():
    delta = 100.0  # level spacing in kelvin
    ens = bm.Ensemble([0.0, delta], unit="K")
    for t in (20.0, 41.67782798, 300.0):
        r = ens.at(t)
        x = delta / t
        p1 = math.exp(-x) / (1 + math.exp(-x))
        np.testing.assert_allclose(r["populations"], [1 - p1, p1], rtol=1e-14)
        cv = x * x * math.exp(x) / (1 + math.exp(x)) ** 2
        assert math.isclose(r["Cv"], cv, rel_tol=1e-12)
        assert math.isclose(r["ln_z"], math.log1p(math.exp(-x)), rel_tol=1e-14)
    # The Schottky peak.
    ts = np.linspace(35.0, 50.0, 3001)
    cv = ens.sweep(ts)["Cv"]
    i = int(np.argmax(cv))
    assert abs(cv[i] - 0.4392288399) < 1e-8
    assert abs(ts[i] / delta - 0.4167782798) < 1e-4


def test_conformers_by_hand_and_degeneracy():
    e = [0.0, 0.5, 1.2]  # kcal/mol
    t = 298.15
    rt = 8.314462618 * t / 4184.0
    w = np.array([1.0, 2.0, 1.0]) * np.exp(-np.array(e) / rt)
    r = bm.Ensemble(e, unit="kcal/mol", degeneracies=[1, 2, 1]).at(t)
    np.testing.assert_allclose(r["populations"], w / w.sum(), rtol=1e-9)
    f = r["ensemble_free_energies"]
    parts = list(f.values())
    assert math.isclose(parts[0], parts[1] + parts[2], rel_tol=1e-12, abs_tol=1e-15)
    np.testing.assert_allclose(
        bm.boltzmann_weights(e, temperature=t, degeneracies=[1, 2, 1]), w / w.sum(), rtol=1e-9
    )


def test_properties_and_errors():
    ens = bm.Ensemble([0.0, 0.0], unit="kJ/mol", properties={"dipole": [1.0, 3.0]})
    r = ens.at(300.0)
    mean, std = r["properties"]["dipole"]
    assert math.isclose(mean, 2.0) and math.isclose(std, 1.0)
    with pytest.raises(ValueError, match="unit"):
        bm.Ensemble([0.0], unit="furlongs")
    with pytest.raises(ValueError):
        bm.Ensemble([0.0, float("nan")])
    with pytest.raises(ValueError):
        bm.Ensemble([0.0, 1.0], degeneracies=[1.0, -2.0])
    with pytest.raises(ValueError):
        ens.at(0.0)
