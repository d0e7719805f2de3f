"""Sampling from Python: exact frequencies, reproducibility, errors."""

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

import boltzmax as bm


@pytest.mark.parametrize("method", ["inverse_cdf", "gumbel"])
@pytest.mark.parametrize("t", [1.0, 0.5, 3.0])
def test_frequencies_match_softmax(method, t):
    logits = np.array([0.0, 1.0, 2.0, -1.0, -np.inf, 0.5])
    n = 60_000
    draws = bm.categorical(logits, size=n, temperature=t, seed=11, method=method)
    assert draws.shape == (n,) and draws.dtype == np.int64
    counts = np.bincount(draws, minlength=logits.size)
    assert counts[4] == 0  # -inf is never drawn
    p = sp.softmax(logits / t)
    keep = p > 0
    chi2, pval = st.chisquare(counts[keep], n * p[keep])
    # A correct sampler fails this with probability 1e-6.
    assert pval > 1e-6, (chi2, pval)


def test_reproducible_and_per_row_streams():
    x = np.random.default_rng(0).standard_normal((50, 30))
    a = bm.categorical(x, seed=5)
    b = bm.categorical(x, seed=5)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50,)
    # Row r's draws do not depend on the other rows.

    row0 = bm.categorical(x[:1], size=20, seed=5)
    assert row0.shape == (1, 20)
    assert bm.categorical(x, size=20, seed=5)[0].tolist() == row0[0].tolist()
    assert not np.array_equal(bm.categorical(x, seed=6), a)
    assert isinstance(bm.categorical(x[0], seed=1), np.integer)


def test_one_hot_and_float32():
    assert bm.categorical(np.array([0.0, np.inf, 1.0]), size=5).tolist() == [1] * 5
    assert bm.categorical(np.array([0.0, 10.0], dtype=np.float32), temperature=1e-30) == 1


def test_errors():
    with pytest.raises(ValueError, match="row 0"):
        bm.categorical(np.array([-np.inf, -np.inf]))
    with pytest.raises(ValueError, match="row 1"):
        bm.categorical(np.array([[0.0, 1.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match="method"):
        bm.categorical(np.zeros(3), method="alias")
    with pytest.raises(ValueError, match="temperature"):
        bm.categorical(np.zeros(3), temperature=0.0)
