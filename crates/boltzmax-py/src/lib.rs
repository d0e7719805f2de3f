//! Python bindings: numpy arrays in and out, float32 kept as float32, the
//! GIL released while the kernels run.
//!
//! Every function takes its array as a Python object and dispatches on the
//! dtype: float32 and float64 are used as they are (any strides, no copy);
//! every other real dtype (integers, bool, float16) is converted to
//! float64 first, as scipy does; complex input is a TypeError.

use boltzmax::nd::{self, Par};
use boltzmax::{Error, Params, Real};
use ndarray::{ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Axis, IxDyn, Zip};
use numpy::{
    AllowTypeChange, Element, IntoPyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayLikeDyn,
    PyArrayMethods, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyAny;

mod thermo;

/// numpy's name for `F`.
fn np_name<F: Real>() -> &'static str {
    if F::NAME == "f32" {
        "float32"
    } else {
        "float64"
    }
}

/// Work on at least this many elements runs with the GIL released; below
/// it, releasing and re-taking the GIL costs more than the computation
/// (numpy likewise keeps the GIL for small loops).
const DETACH_MIN_ELEMENTS: usize = 1 << 14;

/// Runs `f`, with the GIL released when `n` elements make that pay.
fn compute<T, G>(py: Python<'_>, n: usize, f: G) -> T
where
    G: pyo3::marker::Ungil + FnOnce() -> T,
    T: pyo3::marker::Ungil,
{
    if n >= DETACH_MIN_ELEMENTS {
        py.detach(f)
    } else {
        f()
    }
}

fn value_error(e: Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Temperature or beta (at most one) as validated parameters in `F`.
fn params<F: Real>(temperature: Option<f64>, beta: Option<f64>) -> PyResult<Params<F>> {
    match (temperature, beta) {
        (Some(_), Some(_)) => Err(PyValueError::new_err("give temperature or beta, not both")),
        (Some(t), None) => {
            let tf = F::from_f64(t);
            if t > 0.0 && tf == F::ZERO {
                return Err(PyValueError::new_err(format!(
                    "temperature {t} underflows to 0 in {}",
                    np_name::<F>()
                )));
            }
            Params::temperature(tf).map_err(value_error)
        }
        (None, Some(b)) => Params::beta(F::from_f64(b)).map_err(value_error),
        (None, None) => Ok(Params::default()),
    }
}

/// `threads=None` (all cores, above the library's size threshold), or a
/// count: 1 runs on the calling thread. Results are bitwise the same for
/// any count.
fn par(threads: Option<usize>) -> Par {
    match threads {
        None => Par::Threads(0),
        Some(0) | Some(1) => Par::Seq,
        Some(n) => Par::Threads(n),
    }
}

fn normalize_axis(axis: isize, ndim: usize) -> PyResult<usize> {
    let n = ndim as isize;
    if axis >= n || axis < -n {
        return Err(value_error(Error::AxisOutOfRange { axis, ndim }));
    }
    Ok(if axis < 0 { axis + n } else { axis } as usize)
}

/// A small array's data as one slice: the pointer, the element count and
/// the last dimension, when the array is non-empty, C-contiguous, aligned
/// and has fewer than [`DETACH_MIN_ELEMENTS`] elements (so the GIL stays
/// held for the whole call); `None` sends the call down the general path.
///
/// The fast paths read such arrays without numpy's borrow tracking and
/// without n-d views, which cost 0.2-0.3 us of a (1, 1000) call's 0.8
/// (perf, 2026-11-29): with the GIL held no Python code can run while the
/// slices live, and the caller checks that an output's memory is disjoint
/// from the input's, so the shared and the mutable slice never alias.
fn small_c_data<F: Element>(a: &Bound<'_, PyArrayDyn<F>>) -> Option<(*mut F, usize, usize)> {
    let ndim = a.ndim();
    let len = a.len();
    if ndim == 0 || len == 0 || len >= DETACH_MIN_ELEMENTS || !a.is_c_contiguous() {
        return None;
    }
    // SAFETY: `as_array_ptr` points at the live array object.
    let flags = unsafe { (*a.as_array_ptr()).flags };
    if flags & numpy::npyffi::NPY_ARRAY_ALIGNED == 0 {
        return None;
    }
    Some((a.data(), len, a.shape()[ndim - 1]))
}

/// Whether `out` may be written by a fast path beside the input at `px`
/// (`len` elements of `F`): same shape as `like`, C-contiguous, aligned,
/// writeable, and no byte shared with the input.
fn small_out_ok<F: Element>(
    out: &Bound<'_, PyArrayDyn<F>>,
    like: &Bound<'_, PyArrayDyn<F>>,
    px: *const F,
    len: usize,
) -> Option<*mut F> {
    let (po, olen, _) = small_c_data(out)?;
    // SAFETY: as in `small_c_data`.
    let flags = unsafe { (*out.as_array_ptr()).flags };
    if olen != len || out.shape() != like.shape() || flags & numpy::npyffi::NPY_ARRAY_WRITEABLE == 0
    {
        return None;
    }
    let bytes = len * std::mem::size_of::<F>();
    let (x0, o0) = (px as usize, po as usize);
    if o0 < x0 + bytes && x0 < o0 + bytes {
        return None;
    }
    Some(po)
}

#[derive(Clone, Copy)]
enum Which {
    Softmax,
    LogSoftmax,
}

fn check_real_dtype(x: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(arr) = x.cast::<numpy::PyUntypedArray>()
        && arr.dtype().kind() == b'c'
    {
        return Err(PyTypeError::new_err(
            "complex input is not supported: softmax is defined on real numbers",
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn softmax_typed<'py, F: Real + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyArrayDyn<F>>,
    axis: isize,
    temperature: Option<f64>,
    beta: Option<f64>,
    mask: Option<&Bound<'py, PyAny>>,
    out: Option<&Bound<'py, PyAny>>,
    which: Which,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let p = params::<F>(temperature, beta)?;
    let par = par(threads);
    if mask.is_none()
        && let Some((px, len, n)) = small_c_data(x)
        && normalize_axis(axis, x.ndim())? + 1 == x.ndim()
    {
        let fresh;
        let out_arr = match out {
            None => {
                // SAFETY: as for the general path's output below.
                fresh = unsafe { PyArrayDyn::<F>::new(py, x.shape(), false) };
                Some(fresh.clone())
            }
            Some(o) => o.cast::<PyArrayDyn<F>>().ok().cloned(),
        };
        if let Some(o) = out_arr
            && let Some(po) = small_out_ok(&o, x, px, len)
        {
            // SAFETY: `small_c_data` and `small_out_ok`: both hold `len`
            // aligned elements, the ranges are disjoint, and the GIL is
            // held until the slices are dropped.
            let (xs, os) = unsafe {
                (
                    std::slice::from_raw_parts(px as *const F, len),
                    std::slice::from_raw_parts_mut(po, len),
                )
            };
            let xv = ArrayView2::from_shape((len / n, n), xs).expect("C-contiguous rows");
            let ov = ArrayViewMut2::from_shape((len / n, n), os).expect("C-contiguous rows");
            match which {
                Which::Softmax => nd::softmax_into(ov, xv, -1, &p, par),
                Which::LogSoftmax => nd::log_softmax_into(ov, xv, -1, &p, par),
            }
            .map_err(value_error)?;
            return Ok(o.into_any());
        }
    }
    let xr = x.readonly();
    let xv = xr.as_array();
    if xv.ndim() == 0 {
        return Err(PyValueError::new_err(
            "softmax needs an array of at least one dimension, got a scalar",
        ));
    }
    let ax = normalize_axis(axis, xv.ndim())?;
    let mask_arr = match mask {
        None => None,
        Some(m) => {
            let m = m
                .cast::<PyArrayDyn<bool>>()
                .map_err(|_| PyTypeError::new_err("where= must be a numpy array of dtype bool"))?;
            if m.shape() != xv.shape() {
                return Err(value_error(Error::ShapeMismatch {
                    what: "where",
                    got: m.shape().to_vec(),
                    expected: xv.shape().to_vec(),
                }));
            }
            Some(m.readonly())
        }
    };
    let out_arr: Bound<'py, PyArrayDyn<F>> = match out {
        // SAFETY: uninitialised memory of a plain float dtype is valid
        // (any bit pattern is a float), and the kernels below write every
        // element before Python can see the array.
        None => unsafe { PyArrayDyn::<F>::new(py, IxDyn(xv.shape()), false) },
        Some(o) => {
            let o = o.cast::<PyArrayDyn<F>>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "out= must be a numpy array of dtype {}, like the input",
                    np_name::<F>()
                ))
            })?;
            if o.shape() != xv.shape() {
                return Err(value_error(Error::ShapeMismatch {
                    what: "out",
                    got: o.shape().to_vec(),
                    expected: xv.shape().to_vec(),
                }));
            }
            o.clone()
        }
    };
    {
        let mut ow = out_arr
            .try_readwrite()
            .map_err(|_| PyValueError::new_err("out= is not writeable or overlaps an input"))?;
        let ov = ow.as_array_mut();
        let mv = mask_arr.as_ref().map(|m| m.as_array());
        let axis = ax as isize;
        compute(py, xv.len(), || match (which, mv) {
            (Which::Softmax, None) => nd::softmax_into(ov, xv, axis, &p, par),
            (Which::LogSoftmax, None) => nd::log_softmax_into(ov, xv, axis, &p, par),
            (Which::Softmax, Some(m)) => nd::softmax_masked_into(ov, xv, m, axis, &p, par),
            (Which::LogSoftmax, Some(m)) => nd::log_softmax_masked_into(ov, xv, m, axis, &p, par),
        })
        .map_err(value_error)?;
    }
    Ok(out_arr.into_any())
}

#[allow(clippy::too_many_arguments)]
fn dispatch<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    axis: isize,
    temperature: Option<f64>,
    beta: Option<f64>,
    mask: Option<&Bound<'py, PyAny>>,
    out: Option<&Bound<'py, PyAny>>,
    which: Which,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    check_real_dtype(x)?;
    if let Ok(a) = x.cast::<PyArrayDyn<f32>>() {
        return softmax_typed(py, a, axis, temperature, beta, mask, out, which, threads);
    }
    if let Ok(a) = x.cast::<PyArrayDyn<f64>>() {
        return softmax_typed(py, a, axis, temperature, beta, mask, out, which, threads);
    }
    let converted: PyArrayLikeDyn<'py, f64, AllowTypeChange> = x.extract()?;
    let a: &Bound<'py, PyArrayDyn<f64>> = &converted;
    softmax_typed(py, a, axis, temperature, beta, mask, out, which, threads)
}

/// softmax(x, axis=-1, temperature=None, beta=None, where=None, out=None, threads=None)
/// --
///
/// Softmax along `axis`: exp(x / T) normalised to sum 1.
#[pyfunction]
#[pyo3(signature = (x, axis=-1, temperature=None, beta=None, r#where=None, out=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn softmax<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    axis: isize,
    temperature: Option<f64>,
    beta: Option<f64>,
    r#where: Option<&Bound<'py, PyAny>>,
    out: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    dispatch(
        py,
        x,
        axis,
        temperature,
        beta,
        r#where,
        out,
        Which::Softmax,
        threads,
    )
}

/// log_softmax(x, axis=-1, temperature=None, beta=None, where=None, out=None, threads=None)
/// --
///
/// Logarithm of the softmax along `axis`, computed without forming the softmax.
#[pyfunction]
#[pyo3(signature = (x, axis=-1, temperature=None, beta=None, r#where=None, out=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn log_softmax<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    axis: isize,
    temperature: Option<f64>,
    beta: Option<f64>,
    r#where: Option<&Bound<'py, PyAny>>,
    out: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    dispatch(
        py,
        x,
        axis,
        temperature,
        beta,
        r#where,
        out,
        Which::LogSoftmax,
        threads,
    )
}

/// Reads an optional companion array (weights or mask) as `T`, broadcast to
/// `shape` by numpy (a view, no copy).
fn companion<'py, T: Element>(
    py: Python<'py>,
    what: &str,
    v: Option<&Bound<'py, PyAny>>,
    shape: &[usize],
) -> PyResult<Option<numpy::PyReadonlyArrayDyn<'py, T>>> {
    let Some(v) = v else { return Ok(None) };
    let np = py.import("numpy")?;
    let arr = np.call_method1("asarray", (v, T::get_dtype(py)))?;
    let b = np
        .call_method1("broadcast_to", (arr, shape.to_vec()))
        .map_err(|e| {
            PyValueError::new_err(format!(
                "{what} cannot be broadcast to the input's shape {shape:?}: {e}"
            ))
        })?;
    let b = b.cast_into::<PyArrayDyn<T>>()?;
    Ok(Some(b.readonly()))
}

/// One logsumexp reduction: plain, masked, or weighted with a sign.
fn lse_lane<F: Real>(
    x: &[F],
    b: Option<&[F]>,
    mask: Option<&[bool]>,
    signed: bool,
    p: &Params<F>,
    scratch: &mut Vec<F>,
) -> Result<(F, F), Error> {
    if b.is_some() || signed {
        // Masked-out entries get weight 0, which logsumexp_weighted ignores.
        scratch.clear();
        match b {
            Some(b) => scratch.extend_from_slice(b),
            None => scratch.resize(x.len(), F::ONE),
        }
        if let Some(m) = mask {
            for (w, &keep) in scratch.iter_mut().zip(m) {
                if !keep {
                    *w = F::ZERO;
                }
            }
        }
        let r = boltzmax::logsumexp_weighted(x, scratch, p)?;
        return Ok((r.log_abs, r.sign));
    }
    let v = match mask {
        Some(m) => boltzmax::logsumexp_masked(x, m, p)?,
        None => boltzmax::logsumexp_with(x, p),
    };
    Ok((v, F::ONE))
}

fn lane_slice<'a, T: Copy>(v: ndarray::ArrayView1<'a, T>, buf: &'a mut Vec<T>) -> &'a [T] {
    match v.to_slice() {
        Some(s) => s,
        None => {
            buf.clear();
            buf.extend(v.iter().copied());
            buf
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn logsumexp_typed<'py, F: Real + Element>(
    py: Python<'py>,
    a: &Bound<'py, PyArrayDyn<F>>,
    axis: Option<isize>,
    b: Option<&Bound<'py, PyAny>>,
    keepdims: bool,
    return_sign: bool,
    temperature: Option<f64>,
    beta: Option<f64>,
    mask: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let p = params::<F>(temperature, beta)?;
    if b.is_none()
        && mask.is_none()
        && !return_sign
        && let Some((pa, len, n)) = small_c_data(a)
    {
        // SAFETY: `small_c_data`: `len` aligned elements, read while the
        // GIL is held.
        let xs = unsafe { std::slice::from_raw_parts(pa as *const F, len) };
        let ndim = a.ndim();
        match axis {
            None => {
                let v = numpy::PyArray::from_vec(py, vec![boltzmax::logsumexp_with(xs, &p)]);
                return if keepdims {
                    Ok(v.reshape(vec![1; ndim])?.into_any())
                } else {
                    // A numpy scalar of the input's dtype, as scipy returns.
                    v.into_any().get_item(0)
                };
            }
            Some(ax) if normalize_axis(ax, ndim)? + 1 == ndim => {
                let values: Vec<F> = xs
                    .chunks_exact(n)
                    .map(|r| boltzmax::logsumexp_with(r, &p))
                    .collect();
                let mut shape = a.shape().to_vec();
                if keepdims {
                    shape[ndim - 1] = 1;
                } else {
                    shape.pop();
                }
                let arr = ndarray::ArrayD::from_shape_vec(IxDyn(&shape), values)
                    .expect("one value per row")
                    .into_pyarray(py);
                return if shape.is_empty() {
                    arr.into_any().get_item(())
                } else {
                    Ok(arr.into_any())
                };
            }
            Some(_) => {}
        }
    }
    let ar = a.readonly();
    let av = ar.as_array();
    let shape = av.shape().to_vec();
    let br = companion::<F>(py, "b", b, &shape)?;
    let mr = companion::<bool>(py, "where", mask, &shape)?;
    let bv = br.as_ref().map(|r| r.as_array());
    let mv = mr.as_ref().map(|r| r.as_array());
    let (values, signs, out_shape) = match axis {
        None => {
            // Reduce over every element, in logical (C) order: borrowed
            // when the array is C-contiguous, copied otherwise.
            fn flat<T: Copy>(v: ArrayViewD<'_, T>) -> std::borrow::Cow<'_, [T]> {
                match v.to_slice() {
                    Some(s) => std::borrow::Cow::Borrowed(s),
                    None => std::borrow::Cow::Owned(v.iter().copied().collect()),
                }
            }
            let xs = flat(av.view());
            let bs = bv.map(flat);
            let ms = mv.map(flat);
            let mut scratch = Vec::new();
            let (v, s) = compute(py, xs.len(), || {
                lse_lane(
                    &xs,
                    bs.as_deref(),
                    ms.as_deref(),
                    return_sign,
                    &p,
                    &mut scratch,
                )
            })
            .map_err(value_error)?;
            let out_shape = if keepdims {
                vec![1; shape.len()]
            } else {
                vec![]
            };
            (vec![v], vec![s], out_shape)
        }
        Some(axis) => {
            let nd = shape.len().max(1);
            if shape.is_empty() {
                return Err(PyValueError::new_err(
                    "axis given for a 0-dimensional input",
                ));
            }
            let ax = normalize_axis(axis, nd)?;
            let par = par(threads);
            let signed = return_sign || bv.is_some();
            let (values, signs) = compute(py, av.len(), || -> Result<(Vec<F>, Vec<F>), Error> {
                let flat = |a: ndarray::ArrayD<F>| a.iter().copied().collect::<Vec<F>>();
                let axis = ax as isize;
                if signed {
                    // Masked-out entries get weight 0, which the
                    // weighted logsumexp ignores whatever x holds.
                    let b: ndarray::CowArray<'_, F, IxDyn> = match (bv, mv) {
                        (Some(b), None) => b.into(),
                        (b, m) => {
                            let mut w = match b {
                                Some(b) => b.to_owned(),
                                None => ndarray::ArrayD::from_elem(shape.clone(), F::ONE),
                            };
                            if let Some(m) = m {
                                Zip::from(&mut w).and(&m).for_each(|w, &keep| {
                                    if !keep {
                                        *w = F::ZERO;
                                    }
                                });
                            }
                            w.into()
                        }
                    };
                    let r = nd::logsumexp_weighted(av, b.view(), axis, &p, par)?;
                    Ok((flat(r.log_abs), flat(r.sign)))
                } else {
                    let v = match mv {
                        Some(m) => nd::logsumexp_masked(av, m, axis, &p, par)?,
                        None => nd::logsumexp(av, axis, &p, par)?,
                    };
                    let n = v.len();
                    Ok((flat(v), vec![F::ONE; n]))
                }
            })
            .map_err(value_error)?;
            let mut out_shape = shape.clone();
            if keepdims {
                out_shape[ax] = 1;
            } else {
                out_shape.remove(ax);
            }
            (values, signs, out_shape)
        }
    };
    let to_py = |v: Vec<F>| -> PyResult<Bound<'py, PyAny>> {
        // Built in its final shape (no numpy reshape call).
        let arr = ndarray::ArrayD::from_shape_vec(IxDyn(&out_shape), v)
            .expect("one value per output element")
            .into_pyarray(py);
        if out_shape.is_empty() {
            // A numpy scalar of the input's dtype, as scipy returns.
            arr.into_any().get_item(())
        } else {
            Ok(arr.into_any())
        }
    };
    let res = to_py(values)?;
    if return_sign {
        Ok((res, to_py(signs)?).into_pyobject(py)?.into_any())
    } else {
        Ok(res)
    }
}

/// logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, temperature=None, beta=None, where=None, threads=None)
/// --
///
/// ln(sum(b * exp(a / T))) over `axis` (all elements if None), as scipy.special.logsumexp.
#[pyfunction]
#[pyo3(signature = (a, axis=None, b=None, keepdims=false, return_sign=false, temperature=None, beta=None, r#where=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn logsumexp<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    axis: Option<isize>,
    b: Option<&Bound<'py, PyAny>>,
    keepdims: bool,
    return_sign: bool,
    temperature: Option<f64>,
    beta: Option<f64>,
    r#where: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    check_real_dtype(a)?;
    if let Ok(x) = a.cast::<PyArrayDyn<f32>>() {
        return logsumexp_typed(
            py,
            x,
            axis,
            b,
            keepdims,
            return_sign,
            temperature,
            beta,
            r#where,
            threads,
        );
    }
    if let Ok(x) = a.cast::<PyArrayDyn<f64>>() {
        return logsumexp_typed(
            py,
            x,
            axis,
            b,
            keepdims,
            return_sign,
            temperature,
            beta,
            r#where,
            threads,
        );
    }
    let converted: PyArrayLikeDyn<'py, f64, AllowTypeChange> = a.extract()?;
    let x: &Bound<'py, PyArrayDyn<f64>> = &converted;
    logsumexp_typed(
        py,
        x,
        axis,
        b,
        keepdims,
        return_sign,
        temperature,
        beta,
        r#where,
        threads,
    )
}

#[derive(Clone, Copy)]
enum Vjp {
    Softmax,
    LogSoftmax,
}

/// `dx` from the forward output `y` and the upstream gradient `g`, lane by
/// lane along `axis`.
fn vjp_along_axis<F: Real>(
    y: ArrayViewD<'_, F>,
    g: ArrayViewD<'_, F>,
    mut out: ArrayViewMutD<'_, F>,
    axis: usize,
    p: &Params<F>,
    which: Vjp,
) -> Result<(), Error> {
    let ax = Axis(axis);
    let (mut yb, mut gb, mut ob) = (Vec::new(), Vec::new(), vec![F::ZERO; y.shape()[axis]]);
    let mut result = Ok(());
    Zip::from(y.lanes(ax))
        .and(g.lanes(ax))
        .and(out.lanes_mut(ax))
        .for_each(|yl, gl, mut ol| {
            if result.is_err() {
                return;
            }
            let ys = lane_slice(yl, &mut yb);
            let gs = lane_slice(gl, &mut gb);
            let r = match which {
                Vjp::Softmax => boltzmax::backward::softmax_vjp_into(&mut ob, ys, gs, p),
                Vjp::LogSoftmax => boltzmax::backward::log_softmax_vjp_into(&mut ob, ys, gs, p),
            };
            match r {
                Ok(()) => ol.iter_mut().zip(&ob).for_each(|(d, &s)| *d = s),
                Err(e) => result = Err(e),
            }
        });
    result
}

#[allow(clippy::too_many_arguments)]
fn vjp_typed<'py, F: Real + Element>(
    py: Python<'py>,
    y: &Bound<'py, PyArrayDyn<F>>,
    grad: &Bound<'py, PyAny>,
    axis: isize,
    temperature: Option<f64>,
    beta: Option<f64>,
    which: Vjp,
) -> PyResult<Bound<'py, PyAny>> {
    let p = params::<F>(temperature, beta)?;
    let yr = y.readonly();
    let yv = yr.as_array();
    if yv.ndim() == 0 {
        return Err(PyValueError::new_err(
            "expected an array of at least one dimension",
        ));
    }
    let ax = normalize_axis(axis, yv.ndim())?;
    let g = grad.cast::<PyArrayDyn<F>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "grad must be a numpy array of dtype {}, like the output",
            np_name::<F>()
        ))
    })?;
    if g.shape() != yv.shape() {
        return Err(value_error(Error::ShapeMismatch {
            what: "grad",
            got: g.shape().to_vec(),
            expected: yv.shape().to_vec(),
        }));
    }
    let gr = g.readonly();
    let gv = gr.as_array();
    let out = PyArrayDyn::<F>::zeros(py, IxDyn(yv.shape()), false);
    {
        let mut ow = out.readwrite();
        let ov = ow.as_array_mut();
        py.detach(|| vjp_along_axis(yv, gv, ov, ax, &p, which))
            .map_err(value_error)?;
    }
    Ok(out.into_any())
}

macro_rules! vjp_fn {
    ($name:ident, $which:expr, $doc:literal) => {
        #[doc = $doc]
        #[pyfunction]
        #[pyo3(signature = (y, grad, axis=-1, temperature=None, beta=None))]
        fn $name<'py>(
            py: Python<'py>,
            y: &Bound<'py, PyAny>,
            grad: &Bound<'py, PyAny>,
            axis: isize,
            temperature: Option<f64>,
            beta: Option<f64>,
        ) -> PyResult<Bound<'py, PyAny>> {
            check_real_dtype(y)?;
            if let Ok(a) = y.cast::<PyArrayDyn<f32>>() {
                return vjp_typed(py, a, grad, axis, temperature, beta, $which);
            }
            if let Ok(a) = y.cast::<PyArrayDyn<f64>>() {
                return vjp_typed(py, a, grad, axis, temperature, beta, $which);
            }
            Err(PyTypeError::new_err(
                "y must be a float32 or float64 numpy array (the forward output)",
            ))
        }
    };
}

vjp_fn!(
    softmax_backward,
    Vjp::Softmax,
    "softmax_backward(y, grad, axis=-1, temperature=None, beta=None)\n--\n\nGradient with respect to x of a loss, given y = softmax(x) and grad = dL/dy: y * (grad - sum(grad * y)) / T."
);
vjp_fn!(
    log_softmax_backward,
    Vjp::LogSoftmax,
    "log_softmax_backward(y, grad, axis=-1, temperature=None, beta=None)\n--\n\nGradient with respect to x of a loss, given y = log_softmax(x) and grad = dL/dy: (grad - exp(y) * sum(grad)) / T."
);

fn cross_entropy_typed<'py, F: Real + Element>(
    py: Python<'py>,
    logits: &Bound<'py, PyArrayDyn<F>>,
    labels: &Bound<'py, PyAny>,
    label_smoothing: f64,
    ignore_index: Option<i64>,
) -> PyResult<(f64, Bound<'py, PyAny>)> {
    // The ignored label, whatever its value (torch's default is -100), is
    // passed to the library as usize::MAX, which no real class can be.
    let opts = boltzmax::backward::CrossEntropyOptions {
        label_smoothing,
        ignore_index: ignore_index.map(|_| usize::MAX),
    };
    let lr = logits.readonly();
    let lv = lr.as_array();
    if lv.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "logits must be 2-dimensional (rows x classes), got shape {:?}",
            lv.shape()
        )));
    }
    let (n, k) = (lv.shape()[0], lv.shape()[1]);
    let labels: Vec<i64> = labels.extract().or_else(|_| {
        let np = py.import("numpy")?;
        np.call_method1("asarray", (labels, "int64"))?
            .call_method0("tolist")?
            .extract()
    })?;
    if labels.len() != n {
        return Err(value_error(Error::LengthMismatch {
            what: "labels",
            got: labels.len(),
            expected: n,
        }));
    }
    let mut lab = Vec::with_capacity(n);
    for (row, &y) in labels.iter().enumerate() {
        if Some(y) == ignore_index {
            lab.push(usize::MAX);
        } else if y < 0 {
            return Err(PyValueError::new_err(format!(
                "label {y} in row {row} is out of range (classes are 0..{k})"
            )));
        } else {
            lab.push(y as usize);
        }
    }
    let x: Vec<F> = match lv.as_slice() {
        Some(s) => s.to_vec(),
        None => lv.iter().copied().collect(),
    };
    let mut grad = vec![F::ZERO; n * k];
    let loss = py
        .detach(|| boltzmax::backward::softmax_cross_entropy(&x, &lab, k, &opts, Some(&mut grad)))
        .map_err(value_error)?;
    let g = numpy::PyArray1::from_vec(py, grad).reshape([n, k])?;
    Ok((loss, g.into_any()))
}

/// cross_entropy(logits, labels, label_smoothing=0.0, ignore_index=None)
/// --
///
/// Mean softmax cross-entropy of (n, k) logits against integer labels, and its
/// gradient with respect to the logits, in one pass (torch semantics for
/// label smoothing and ignore_index). Returns (loss, grad).
#[pyfunction]
#[pyo3(signature = (logits, labels, label_smoothing=0.0, ignore_index=None))]
fn cross_entropy<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
    label_smoothing: f64,
    ignore_index: Option<i64>,
) -> PyResult<(f64, Bound<'py, PyAny>)> {
    check_real_dtype(logits)?;
    if let Ok(a) = logits.cast::<PyArrayDyn<f32>>() {
        return cross_entropy_typed(py, a, labels, label_smoothing, ignore_index);
    }
    if let Ok(a) = logits.cast::<PyArrayDyn<f64>>() {
        return cross_entropy_typed(py, a, labels, label_smoothing, ignore_index);
    }
    let converted: PyArrayLikeDyn<'py, f64, AllowTypeChange> = logits.extract()?;
    let x: &Bound<'py, PyArrayDyn<f64>> = &converted;
    cross_entropy_typed(py, x, labels, label_smoothing, ignore_index)
}

/// Draws for every row of `x` (2-d) or for the one row of a 1-d `x`:
/// `size` draws each, row `r` from its own stream `(seed, r)`.
fn categorical_typed<'py, F: Real + Element>(
    py: Python<'py>,
    x: &Bound<'py, PyArrayDyn<F>>,
    size: Option<usize>,
    temperature: Option<f64>,
    beta: Option<f64>,
    seed: u64,
    method: &str,
) -> PyResult<Bound<'py, PyAny>> {
    use boltzmax::sample::{Categorical, gumbel_max, stream_rng};
    use rand::distr::Distribution;
    let gumbel = match method {
        "inverse_cdf" => false,
        "gumbel" => true,
        other => {
            return Err(PyValueError::new_err(format!(
                "method must be 'inverse_cdf' or 'gumbel', got {other:?}"
            )));
        }
    };
    let p = params::<F>(temperature, beta)?;
    let xr = x.readonly();
    let xv = xr.as_array();
    let rows: Vec<Vec<F>> = match xv.ndim() {
        1 => vec![xv.iter().copied().collect()],
        2 => xv
            .outer_iter()
            .map(|r| r.iter().copied().collect())
            .collect(),
        d => {
            return Err(PyValueError::new_err(format!(
                "logits must be 1- or 2-dimensional, got {d} dimensions"
            )));
        }
    };
    let per_row = size.unwrap_or(1);
    let draws = py
        .detach(|| -> Result<Vec<i64>, (usize, Error)> {
            let mut out = Vec::with_capacity(rows.len() * per_row);
            for (r, row) in rows.iter().enumerate() {
                let mut rng = stream_rng(seed, r as u64);
                if gumbel {
                    for _ in 0..per_row {
                        out.push(gumbel_max(row, &p, &mut rng).map_err(|e| (r, e))? as i64);
                    }
                } else {
                    let dist = Categorical::new(row, &p).map_err(|e| (r, e))?;
                    out.extend(dist.sample_iter(&mut rng).take(per_row).map(|i| i as i64));
                }
            }
            Ok(out)
        })
        .map_err(|(r, e)| PyValueError::new_err(format!("row {r}: {e}")))?;
    let arr = numpy::PyArray1::from_vec(py, draws);
    match (xv.ndim(), size) {
        (1, None) => arr.into_any().get_item(0),
        (1, Some(n)) => Ok(arr.reshape([n])?.into_any()),
        (_, None) => Ok(arr.into_any()),
        (_, Some(n)) => Ok(arr.reshape([rows.len(), n])?.into_any()),
    }
}

/// categorical(logits, size=None, temperature=None, beta=None, seed=0, method="inverse_cdf")
/// --
///
/// Draws from softmax(logits / T): for 1-d logits one index (or `size`
/// indices); for 2-d logits one per row (or `size` per row), row r drawn
/// from its own portable stream (seed, r), so results are the same on every
/// machine and thread count. method: "inverse_cdf" or "gumbel" (Gumbel-max,
/// one pass, no normalisation). Masked (-inf) entries are never drawn;
/// rows with nothing to draw or with NaN are a ValueError.
#[pyfunction]
#[pyo3(signature = (logits, size=None, temperature=None, beta=None, seed=0, method="inverse_cdf"))]
fn categorical<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    size: Option<usize>,
    temperature: Option<f64>,
    beta: Option<f64>,
    seed: u64,
    method: &str,
) -> PyResult<Bound<'py, PyAny>> {
    check_real_dtype(logits)?;
    if let Ok(a) = logits.cast::<PyArrayDyn<f32>>() {
        return categorical_typed(py, a, size, temperature, beta, seed, method);
    }
    if let Ok(a) = logits.cast::<PyArrayDyn<f64>>() {
        return categorical_typed(py, a, size, temperature, beta, seed, method);
    }
    let converted: PyArrayLikeDyn<'py, f64, AllowTypeChange> = logits.extract()?;
    let x: &Bound<'py, PyArrayDyn<f64>> = &converted;
    categorical_typed(py, x, size, temperature, beta, seed, method)
}

#[allow(clippy::too_many_arguments)]
fn decoding_chain(
    temperature: f64,
    top_k: Option<usize>,
    top_p: Option<f64>,
    min_p: Option<f64>,
    typical: Option<f64>,
    order: &str,
    greedy: bool,
) -> PyResult<boltzmax::sample::Chain> {
    use boltzmax::sample::{Chain, ChainConfig};
    if greedy {
        return Ok(Chain::greedy());
    }
    let order = order.parse().map_err(value_error)?;
    Chain::new(&ChainConfig {
        temperature,
        top_k,
        top_p,
        min_p,
        typical,
        order,
    })
    .map_err(value_error)
}

fn rows_f64(py: Python<'_>, logits: &Bound<'_, PyAny>) -> PyResult<(Vec<f64>, usize, usize, bool)> {
    check_real_dtype(logits)?;
    let converted: PyArrayLikeDyn<'_, f64, AllowTypeChange> = logits.extract()?;
    let v = converted.as_array();
    let _ = py;
    match v.ndim() {
        1 => Ok((v.iter().copied().collect(), 1, v.len(), false)),
        2 => Ok((
            v.iter().copied().collect(),
            v.shape()[0],
            v.shape()[1],
            true,
        )),
        d => Err(PyValueError::new_err(format!(
            "logits must be 1- or 2-dimensional, got {d} dimensions"
        ))),
    }
}

/// sample_logits(logits, temperature=1.0, top_k=None, top_p=None, min_p=None, typical=None, order="hf", greedy=False, seed=0)
/// --
///
/// One draw per row through the decoding chain (temperature, top-k, top-p,
/// min-p, typical) in the stated order: "hf" (Hugging Face / vLLM:
/// temperature first), "llama.cpp" (temperature last), or a comma-separated
/// list of stages. greedy=True takes the argmax (ties: lowest index). Row r
/// draws from the portable stream (seed, r): the same on every machine and
/// thread count.
#[pyfunction]
#[pyo3(signature = (logits, temperature=1.0, top_k=None, top_p=None, min_p=None, typical=None, order="hf", greedy=false, seed=0))]
#[allow(clippy::too_many_arguments)]
fn sample_logits<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    temperature: f64,
    top_k: Option<usize>,
    top_p: Option<f64>,
    min_p: Option<f64>,
    typical: Option<f64>,
    order: &str,
    greedy: bool,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let chain = decoding_chain(temperature, top_k, top_p, min_p, typical, order, greedy)?;
    let (x, _rows, width, batched) = rows_f64(py, logits)?;
    let draws = py
        .detach(|| chain.sample_rows(&x, width, seed))
        .map_err(value_error)?;
    let arr = numpy::PyArray1::from_vec(py, draws.into_iter().map(|i| i as i64).collect());
    if batched {
        Ok(arr.into_any())
    } else {
        arr.into_any().get_item(0)
    }
}

/// kept_set(logits, temperature=1.0, top_k=None, top_p=None, min_p=None, typical=None, order="hf")
/// --
///
/// The indices the decoding chain keeps for a 1-d row of logits, and their
/// renormalised probabilities: (indices, probabilities).
#[pyfunction]
#[pyo3(signature = (logits, temperature=1.0, top_k=None, top_p=None, min_p=None, typical=None, order="hf"))]
#[allow(clippy::too_many_arguments)]
fn kept_set<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    temperature: f64,
    top_k: Option<usize>,
    top_p: Option<f64>,
    min_p: Option<f64>,
    typical: Option<f64>,
    order: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let chain = decoding_chain(temperature, top_k, top_p, min_p, typical, order, false)?;
    let (x, _, _, batched) = rows_f64(py, logits)?;
    if batched {
        return Err(PyValueError::new_err("kept_set takes one row (1-d logits)"));
    }
    let kept = py.detach(|| chain.kept(&x)).map_err(value_error)?;
    let idx: Vec<i64> = kept.indices().iter().map(|&i| i as i64).collect();
    Ok((
        numpy::PyArray1::from_vec(py, idx).into_any(),
        numpy::PyArray1::from_slice(py, kept.probabilities()).into_any(),
    ))
}

/// The names of the kernel tables in use: {"float32": ..., "float64": ...}.
#[pyfunction]
fn kernels() -> (String, String) {
    (
        boltzmax::kernel::detected_f32().name.to_string(),
        boltzmax::kernel::detected_f64().name.to_string(),
    )
}

/// The compiled core of the boltzmax Python package.
#[pymodule]
fn _boltzmax(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(softmax, m)?)?;
    m.add_function(wrap_pyfunction!(log_softmax, m)?)?;
    m.add_function(wrap_pyfunction!(logsumexp, m)?)?;
    m.add_function(wrap_pyfunction!(softmax_backward, m)?)?;
    m.add_function(wrap_pyfunction!(log_softmax_backward, m)?)?;
    m.add_function(wrap_pyfunction!(cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(categorical, m)?)?;
    m.add_class::<thermo::PyEnsemble>()?;
    m.add_function(wrap_pyfunction!(thermo::boltzmann_weights, m)?)?;
    m.add_function(wrap_pyfunction!(sample_logits, m)?)?;
    m.add_function(wrap_pyfunction!(kept_set, m)?)?;
    m.add_function(wrap_pyfunction!(kernels, m)?)?;
    Ok(())
}
