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


def test_decoding_chain_kept_set_and_frequencies():
    logits = np.array([3.0, 1.0, 2.5, -1.0, 2.9, 0.0])
    idx, p = bm.kept_set(logits, temperature=0.8, top_k=4, top_p=0.9)
    # Reference: temperature, top-k, then the smallest prefix of the sorted
    # renormalised probabilities whose mass reaches top_p.
    q = sp.softmax(logits / 0.8)
    order = np.argsort(-q, kind="stable")[:4]
    qk = q[order] / q[order].sum()
    cut = int(np.searchsorted(np.cumsum(qk), 0.9) + 1)
    ref = np.sort(order[:cut])
    np.testing.assert_array_equal(idx, ref)
    np.testing.assert_allclose(p, q[ref] / q[ref].sum(), rtol=1e-12)
    n = 40_000
    draws = bm.sample_logits(np.tile(logits, (n, 1)), temperature=0.8, top_k=4, top_p=0.9, seed=3)
    counts = np.bincount(draws, minlength=logits.size)
    assert counts[np.setdiff1d(np.arange(6), ref)].sum() == 0
    _, pval = st.chisquare(counts[ref], n * p)
    assert pval > 1e-6


def test_decoding_chain_greedy_order_and_errors():
    x = np.array([1.0, 5.0, 5.0, 2.0])
    assert bm.sample_logits(x, greedy=True) == 1  # ties: lowest index
    a = bm.kept_set(x, temperature=3.0, min_p=0.5, order="hf")[0]
    b = bm.kept_set(x, temperature=3.0, min_p=0.5, order="llama.cpp")[0]
    assert set(a) >= {1, 2} and set(b) >= {1, 2}
    with pytest.raises(ValueError, match="top_p|top-p"):
        bm.sample_logits(x, top_p=1.5)
    with pytest.raises(ValueError, match="k"):
        bm.sample_logits(x, top_k=0)
    with pytest.raises(ValueError, match="temperature"):
        bm.sample_logits(x, temperature=0.0)
