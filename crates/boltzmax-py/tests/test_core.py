"""The Python face of the core: agreement with scipy, the convention
table, dtypes, layouts and errors."""

import math

import numpy as np
import mpmath
import pytest
import scipy.special as sp

import boltzmax as bm

RNG = np.random.default_rng(20261129)
INF = np.inf


def ulp_err(got, ref, dtype):
    """Error in units of the last place of `dtype`, elementwise."""
    ref = np.asarray(ref, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    spacing = np.spacing(np.abs(ref).astype(dtype)).astype(np.float64)
    tiny = np.finfo(dtype).smallest_subnormal
    return np.abs(got - ref) / np.maximum(spacing, tiny)


def exact_softmax(x, axis, t, dtype):
    """softmax((x - max)/t) and z = (x - max)/t along `axis`, computed with
    50 significant digits (mpmath) from the exact values of x and t as
    stored in `dtype`."""
    mpmath.mp.dps = 50
    t = mpmath.mpf(float(dtype(t)))
    xm = np.moveaxis(x.astype(np.float64), axis, -1)
    out = np.empty_like(xm)
    zs = np.empty_like(xm)
    for idx in np.ndindex(xm.shape[:-1]):
        row = [mpmath.mpf(float(v)) for v in xm[idx]]
        m = max(row)
        z = [(v - m) / t for v in row]
        e = [mpmath.exp(v) for v in z]
        s = mpmath.fsum(e)
        out[idx] = [float(v / s) for v in e]
        zs[idx] = [float(v) for v in z]
    return np.moveaxis(out, -1, axis), np.moveaxis(zs, -1, axis)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axis", [((7,), -1), ((4, 9), -1), ((4, 9), 0), ((3, 5, 6), 1), ((3, 5, 6), -3)])
@pytest.mark.parametrize("t", [1.0, 0.37, 25.0])
def test_agrees_with_scipy(dtype, shape, axis, t):
    x = (RNG.standard_normal(shape) * 5).astype(dtype)
    got = bm.softmax(x, axis=axis, temperature=t)
    assert got.dtype == dtype and got.shape == x.shape
    # Against a 50-digit reference: the rounding of z = (x - m)/t alone
    # costs up to |z| ulp (exp's condition number is |z|), so the bound
    # grows with |z|; the constant covers exp, the sum and the division.
    ref, z = exact_softmax(x, axis, t, dtype)
    assert (ulp_err(got, ref, dtype) <= 2 * np.abs(z) + 8).all()
    ref = sp.softmax(x.astype(np.float64) / t, axis=axis)
    np.testing.assert_allclose(got, ref, rtol=(8 + 2 * 40) * np.finfo(dtype).eps, atol=1e-300)
    lref = sp.log_softmax(x.astype(np.float64) / t, axis=axis)
    lgot = bm.log_softmax(x, axis=axis, temperature=t)
    assert lgot.dtype == dtype
    np.testing.assert_allclose(lgot, lref, rtol=8 * np.finfo(dtype).eps, atol=8 * np.finfo(dtype).eps)
    zref = sp.logsumexp(x.astype(np.float64) / t, axis=axis)
    zgot = bm.logsumexp(x, axis=axis, temperature=t)
    assert zgot.dtype == dtype
    np.testing.assert_allclose(zgot, zref, rtol=4 * np.finfo(dtype).eps, atol=4 * np.finfo(dtype).eps)


def test_beta_matches_temperature():
    x = RNG.standard_normal(50)
    np.testing.assert_array_equal(bm.softmax(x, beta=1.0), bm.softmax(x))
    np.testing.assert_allclose(bm.softmax(x, beta=0.5), bm.softmax(x, temperature=2.0), rtol=1e-15)
    np.testing.assert_allclose(bm.softmax(x, beta=-1.0), sp.softmax(-x), rtol=1e-14)
    np.testing.assert_array_equal(bm.softmax(x, beta=0.0), np.full(50, 1 / 50))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convention_table(dtype):
    a = lambda *v: np.array(v, dtype=dtype)  # noqa: E731
    # empty
    assert bm.softmax(a()).shape == (0,)
    assert bm.logsumexp(a()) == -INF
    # all -inf: undefined softmax, lse -inf
    assert np.isnan(bm.softmax(a(-INF, -INF))).all()
    assert bm.logsumexp(a(-INF, -INF)) == -INF
    # one +inf: one-hot
    np.testing.assert_array_equal(bm.softmax(a(1, INF, -2)), a(0, 1, 0))
    np.testing.assert_array_equal(bm.log_softmax(a(1, INF, -2)), a(-INF, 0, -INF))
    assert bm.logsumexp(a(1, INF)) == INF
    # two +inf: NaN, lse +inf
    assert np.isnan(bm.softmax(a(INF, INF))).all()
    assert bm.logsumexp(a(INF, 0, INF)) == INF
    # NaN
    assert np.isnan(bm.softmax(a(1, np.nan))).all()
    assert np.isnan(bm.logsumexp(a(1, np.nan)))
    # small terms kept
    assert bm.log_softmax(a(0, -40))[0] < 0
    # ties at T -> 0 share the mass
    tiny = 1e-44 if dtype == np.float32 else 1e-310
    np.testing.assert_array_equal(bm.softmax(a(2, 1, 2), temperature=tiny), a(0.5, 0, 0.5))


def test_log_softmax_small_term_exact():
    assert bm.log_softmax(np.array([0.0, -40.0]))[0] == -4.248354255291589e-18


@pytest.mark.parametrize("t", [0.0, -1.0, np.nan, np.inf])
def test_invalid_temperature_is_value_error(t):
    with pytest.raises(ValueError, match="temperature"):
        bm.softmax(np.ones(3), temperature=t)
    with pytest.raises(ValueError, match="temperature"):
        bm.logsumexp(np.ones(3), temperature=t)


def test_errors():
    with pytest.raises(ValueError, match="axis"):
        bm.softmax(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="not both"):
        bm.softmax(np.ones(3), temperature=1.0, beta=1.0)
    with pytest.raises(TypeError, match="complex"):
        bm.softmax(np.ones(3, dtype=complex))
    with pytest.raises(ValueError, match="shape"):
        bm.softmax(np.ones(3), out=np.empty(4))
    with pytest.raises(TypeError, match="float64"):
        bm.softmax(np.ones(3), out=np.empty(3, dtype=np.float32))
    with pytest.raises(ValueError, match="scalar"):
        bm.softmax(np.float64(1.0))


def test_dtypes_and_layouts():
    # integers and bools become float64; float32 stays float32
    assert bm.softmax(np.arange(4)).dtype == np.float64
    assert bm.softmax([1, 2, 3]).dtype == np.float64
    assert bm.softmax(np.ones(3, dtype=np.float32)).dtype == np.float32
    x = RNG.standard_normal((6, 8))
    ref = sp.softmax(x, axis=1)
    for view in (x[:, ::2], x[::2, :], np.asfortranarray(x), x.T):
        np.testing.assert_allclose(bm.softmax(view), sp.softmax(view, axis=-1), rtol=1e-14)
        np.testing.assert_allclose(bm.logsumexp(view, axis=0), sp.logsumexp(view, axis=0), rtol=1e-14)
        # axis=None borrows a C-contiguous array and copies any other layout
        np.testing.assert_allclose(bm.logsumexp(view), sp.logsumexp(view), rtol=1e-14)
        np.testing.assert_allclose(
            bm.logsumexp(view, b=view > 0, return_sign=True),
            sp.logsumexp(view, b=view > 0, return_sign=True),
            rtol=1e-14,
        )
    np.testing.assert_allclose(bm.softmax(np.asfortranarray(x)), ref, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_rows_path_matches_batched_path(dtype):
    # small C-contiguous arrays along the last axis run sequentially (nd's
    # row-by-row path); larger ones go through nd's threaded driver
    x = RNG.standard_normal((64, 1000)).astype(dtype) * 5
    x[3, 7] = np.inf
    x[5] = -np.inf
    for f in (bm.softmax, bm.log_softmax):
        big = f(x, temperature=0.7, threads=1)
        for r in range(0, 64, 16):
            np.testing.assert_array_equal(f(x[r : r + 8], temperature=0.7), big[r : r + 8])
        np.testing.assert_array_equal(f(x[7]), f(x, threads=1)[7])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_array_fast_path_matches_general_path(dtype):
    # small C-contiguous aligned arrays along the last axis skip numpy's
    # borrow tracking and n-d views; any other layout takes the general
    # path: the two must agree bit for bit, edge cases included
    x = RNG.standard_normal((4, 3, 50)).astype(dtype) * 5
    x[0, 1, 7] = np.inf
    x[1, 2] = -np.inf
    x[2, 0, 3] = np.nan
    strided = np.zeros((4, 3, 100), dtype=dtype)[:, :, ::2]
    strided[...] = x
    assert not strided.flags.c_contiguous
    for t in (1.0, 0.3):
        for f in (bm.softmax, bm.log_softmax):
            np.testing.assert_array_equal(f(x, temperature=t), f(strided, temperature=t))
            out = np.empty_like(x)
            assert f(x, out=out, temperature=t) is out
            np.testing.assert_array_equal(out, f(strided, temperature=t))
        for keepdims in (False, True):
            for axis in (None, -1, 2):
                a = bm.logsumexp(x, axis=axis, keepdims=keepdims, temperature=t)
                b = bm.logsumexp(strided, axis=axis, keepdims=keepdims, temperature=t)
                np.testing.assert_array_equal(a, b)
                assert type(a) is type(b) and np.shape(a) == np.shape(b)
                assert np.asarray(a).dtype == dtype
    # outputs the fast path must refuse: overlapping, read-only, wrong dtype
    with pytest.raises(ValueError, match="overlaps"):
        bm.softmax(x, out=x)
    ro = np.empty_like(x)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        bm.softmax(x, out=ro)
    other = np.float64 if dtype == np.float32 else np.float32
    with pytest.raises(TypeError, match="out="):
        bm.softmax(x, out=np.empty(x.shape, dtype=other))


def test_out_and_where():
    x = RNG.standard_normal((3, 4))
    out = np.empty_like(x)
    r = bm.softmax(x, out=out)
    assert r is out
    np.testing.assert_allclose(out, sp.softmax(x, axis=-1), rtol=1e-14)
    mask = np.array([[True, False, True, True]] * 3)
    x[:, 1] = np.nan  # ignored where masked out
    p = bm.softmax(x, where=mask)
    assert (p[:, 1] == 0).all()
    np.testing.assert_allclose(p[:, [0, 2, 3]], sp.softmax(x[:, [0, 2, 3]], axis=-1), rtol=1e-14)
    assert (bm.log_softmax(x, where=mask)[:, 1] == -INF).all()
    np.testing.assert_allclose(
        bm.logsumexp(x, axis=1, where=mask), sp.logsumexp(x[:, [0, 2, 3]], axis=1), rtol=1e-14
    )


def test_logsumexp_like_scipy():
    a = RNG.standard_normal((4, 5))
    b = RNG.standard_normal((4, 5))
    for axis in (None, 0, 1, -1):
        for keepdims in (False, True):
            r, s = bm.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
            rr, ss = sp.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
            np.testing.assert_allclose(r, rr, rtol=1e-12)
            np.testing.assert_array_equal(s, ss)
            assert np.shape(r) == np.shape(rr)
    # b broadcasts, b == 0 ignores the entry
    assert bm.logsumexp(np.array([0.0, INF]), b=np.array([1.0, 0.0])) == 0.0
    np.testing.assert_allclose(bm.logsumexp(a, axis=1, b=2.0), sp.logsumexp(a, axis=1, b=2.0), rtol=1e-14)
    assert isinstance(bm.logsumexp(a), np.float64)
    assert isinstance(bm.logsumexp(a.astype(np.float32)), np.float32)
    assert math.isclose(float(bm.logsumexp([1000.0, 1000.0])), 1000 + math.log(2), rel_tol=1e-16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_matches_finite_differences(dtype):
    x = RNG.standard_normal((3, 6))
    g = RNG.standard_normal((3, 6))
    t = 0.7
    h = 1e-6
    for fwd, bwd in ((bm.softmax, bm.softmax_backward), (bm.log_softmax, bm.log_softmax_backward)):
        y = fwd(x.astype(dtype), temperature=t)
        dx = bwd(y, g.astype(dtype), temperature=t)
        assert dx.dtype == dtype
        num = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = h
            num[i] = ((fwd(x + e, temperature=t) - fwd(x - e, temperature=t)) * g).sum() / (2 * h)
        tol = 1e-7 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(dx, num, atol=tol, rtol=tol * 10)


def test_cross_entropy_like_torch_formula():
    x = RNG.standard_normal((5, 4))
    y = np.array([0, 3, 1, -100, 2])
    loss, grad = bm.cross_entropy(x, y, label_smoothing=0.1, ignore_index=-100)
    keep = y != -100
    lp = sp.log_softmax(x[keep], axis=1)
    q = np.full((keep.sum(), 4), 0.1 / 4)
    q[np.arange(keep.sum()), y[keep]] += 0.9
    ref = -(q * lp).sum(axis=1).mean()
    assert abs(loss - ref) < 1e-14
    gref = np.zeros_like(x)
    gref[keep] = (np.exp(lp) - q) / keep.sum()
    np.testing.assert_allclose(grad, gref, atol=1e-16)
    with pytest.raises(ValueError, match="out of range"):
        bm.cross_entropy(x, np.array([0, 4, 1, 1, 2]))
    with pytest.raises(ValueError, match="out of range"):
        bm.cross_entropy(x, np.array([0, -1, 1, 1, 2]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_independence(dtype):
    x = (RNG.standard_normal((300, 700)) * 4).astype(dtype)  # above the parallel threshold
    b = RNG.standard_normal((300, 700)).astype(dtype)
    for f in (bm.softmax, bm.log_softmax):
        for axis in (-1, 0):
            ref = f(x, axis=axis, threads=1)
            for t in (None, 2, 3, 8):
                np.testing.assert_array_equal(f(x, axis=axis, threads=t), ref)
    for axis in (0, 1):
        ref = bm.logsumexp(x, axis=axis, b=b, return_sign=True, threads=1)
        for t in (None, 2, 5):
            got = bm.logsumexp(x, axis=axis, b=b, return_sign=True, threads=t)
            np.testing.assert_array_equal(got[0], ref[0])
            np.testing.assert_array_equal(got[1], ref[1])


def test_where_and_b_together():
    a = RNG.standard_normal((4, 6))
    b = RNG.standard_normal((4, 6))
    m = RNG.random((4, 6)) > 0.3
    r, s = bm.logsumexp(a, axis=1, b=b, where=m, return_sign=True)
    rr, ss = sp.logsumexp(a, axis=1, b=np.where(m, b, 0.0), return_sign=True)
    np.testing.assert_allclose(r, rr, rtol=1e-13)
    np.testing.assert_array_equal(s, ss)
