//! The n-d API against the slice API, lane by lane, bitwise: every axis,
//! negative axes, non-contiguous and reversed views, masks, weights, and
//! any thread count.

use boltzmax::nd::{self, PAR_MIN_ELEMENTS, Par};
use boltzmax::{Error, Params, Real};
use ndarray::{Array, ArrayD, Axis, IxDyn, ShapeBuilder, s};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn random_array<F: Real>(r: &mut impl Rng, shape: &[usize]) -> ArrayD<F> {
    let n: usize = shape.iter().product();
    let v: Vec<F> = (0..n)
        .map(|_| F::from_f64(r.random_range(-20.0..20.0)))
        .collect();
    Array::from_shape_vec(IxDyn(shape), v).unwrap()
}

/// Bitwise equality, NaN equal to NaN.
fn same<F: Real>(a: F, b: F) -> bool {
    a.to_f64().to_bits() == b.to_f64().to_bits() || (a.is_nan() && b.is_nan())
}

fn check_against_slices<F: Real>(x: ndarray::ArrayViewD<F>, p: &Params<F>, par: Par) {
    let ndim = x.ndim() as isize;
    let mask = x.map(|v| v.to_f64() > -15.0);
    let b = x.map(|v| F::from_f64(if v.to_f64() > 10.0 { -0.5 } else { 1.0 }));
    for axis in -ndim..ndim {
        let ax = Axis(if axis < 0 { axis + ndim } else { axis } as usize);
        let sm = nd::softmax(x.view(), axis, p, par).unwrap();
        let ls = nd::log_softmax(x.view(), axis, p, par).unwrap();
        let smm = nd::softmax_masked(x.view(), mask.view(), axis, p, par).unwrap();
        let lsm = nd::log_softmax_masked(x.view(), mask.view(), axis, p, par).unwrap();
        let lse = nd::logsumexp(x.view(), axis, p, par).unwrap();
        let lsem = nd::logsumexp_masked(x.view(), mask.view(), axis, p, par).unwrap();
        let w = nd::logsumexp_weighted(x.view(), b.view(), axis, p, par).unwrap();
        // Into a non-standard (Fortran-order) output.
        let mut out_f = Array::from_elem(IxDyn(x.shape()).f(), F::NAN);
        nd::softmax_into(out_f.view_mut(), x.view(), axis, p, par).unwrap();
        assert_eq!(out_f, sm);
        let lanes = x.lanes(ax);
        let mut count = 0;
        for (i, lane) in lanes.into_iter().enumerate() {
            count += 1;
            let v = lane.to_vec();
            let m: Vec<bool> = mask.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            let bw: Vec<F> = b.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            let want = boltzmax::softmax_with(&v, p);
            let got: Vec<F> = sm.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            assert!(
                want.iter().zip(&got).all(|(a, b)| same(*a, *b)),
                "axis {axis}"
            );
            let want = boltzmax::log_softmax_with(&v, p);
            let got: Vec<F> = ls.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            assert!(want.iter().zip(&got).all(|(a, b)| same(*a, *b)));
            let want = boltzmax::softmax_masked(&v, &m, p).unwrap();
            let got: Vec<F> = smm.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            assert!(want.iter().zip(&got).all(|(a, b)| same(*a, *b)));
            let want = boltzmax::log_softmax_masked(&v, &m, p).unwrap();
            let got: Vec<F> = lsm.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            assert!(want.iter().zip(&got).all(|(a, b)| same(*a, *b)));
            let flat = |a: &ArrayD<F>| a.iter().nth(i).copied().unwrap();
            assert!(same(flat(&lse), boltzmax::logsumexp_with(&v, p)));
            assert!(same(
                flat(&lsem),
                boltzmax::logsumexp_masked(&v, &m, p).unwrap()
            ));
            let r = boltzmax::logsumexp_weighted(&v, &bw, p).unwrap();
            assert!(same(flat(&w.log_abs), r.log_abs) && same(flat(&w.sign), r.sign));
        }
        assert_eq!(count, lse.len());
    }
}

fn layouts<F: Real>(seed: u64) {
    let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
    let p = Params::temperature(F::from_f64(0.7)).unwrap();
    for shape in [
        vec![5],
        vec![1],
        vec![3, 4],
        vec![1, 7],
        vec![2, 3, 4],
        vec![2, 1, 3, 5],
    ] {
        let a = random_array::<F>(&mut r, &shape);
        check_against_slices(a.view(), &p, Par::Seq);
        // Transposed (reversed axes order) and reversed along every axis.
        check_against_slices(a.t(), &p, Par::Seq);
        let mut rev = a.view();
        for k in 0..rev.ndim() {
            rev.invert_axis(Axis(k));
        }
        check_against_slices(rev, &p, Par::Threads(2));
    }
    // A strided slice of a bigger array.
    let big = random_array::<F>(&mut r, &[6, 9, 4]);
    let v = big.slice(s![..;2, 1..;3, ..]).into_dyn();
    check_against_slices(v, &Params::default(), Par::Seq);
    // More lanes than a gather block, axis 0.
    let wide = random_array::<F>(&mut r, &[3, 100]);
    check_against_slices(wide.view(), &Params::default(), Par::Seq);
}

#[test]
fn every_axis_and_layout_matches_the_slices_f32() {
    layouts::<f32>(1);
}

#[test]
fn every_axis_and_layout_matches_the_slices_f64() {
    layouts::<f64>(2);
}

#[test]
fn results_are_bitwise_identical_for_any_thread_count() {
    let mut r = Xoshiro256PlusPlus::seed_from_u64(3);
    // Above the parallel threshold, both paths (axis last and axis 0).
    let a = random_array::<f32>(&mut r, &[600, 513]);
    assert!(a.len() >= PAR_MIN_ELEMENTS);
    let p = Params::default();
    for axis in [-1, 0] {
        let seq = nd::softmax(a.view(), axis, &p, Par::Seq).unwrap();
        let lse = nd::logsumexp(a.view(), axis, &p, Par::Seq).unwrap();
        for t in [1, 2, 3, 7, 0] {
            let par = nd::softmax(a.view(), axis, &p, Par::Threads(t)).unwrap();
            let bits = |x: &ArrayD<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&seq), bits(&par), "axis {axis}, {t} threads");
            let l = nd::logsumexp(a.view(), axis, &p, Par::Threads(t)).unwrap();
            assert_eq!(
                lse.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                l.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }
    let b = random_array::<f64>(&mut r, &[70, 60, 70]);
    assert!(b.len() >= PAR_MIN_ELEMENTS);
    for axis in [0, 1, 2] {
        let seq = nd::log_softmax(b.view(), axis, &Params::default(), Par::Seq).unwrap();
        let par = nd::log_softmax(b.view(), axis, &Params::default(), Par::Threads(4)).unwrap();
        assert!(
            seq.iter()
                .zip(&par)
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }
}

#[test]
fn empty_arrays() {
    let p = Params::<f64>::default();
    let a = Array::<f64, _>::zeros((0, 3));
    assert_eq!(
        nd::softmax(a.view(), 1, &p, Par::Seq).unwrap().shape(),
        &[0, 3]
    );
    assert_eq!(
        nd::logsumexp(a.view(), 1, &p, Par::Seq).unwrap().shape(),
        &[0]
    );
    // Lanes of length 0: logsumexp is -inf.
    let z = nd::logsumexp(a.view(), 0, &p, Par::Seq).unwrap();
    assert_eq!(z.to_vec(), vec![f64::NEG_INFINITY; 3]);
    // The same along the last axis (the sequential contiguous path) and
    // on all threads (the general driver).
    let e = Array::<f64, _>::zeros((3, 0));
    for par in [Par::Seq, Par::Threads(0)] {
        let z = nd::logsumexp(e.view(), -1, &p, par).unwrap();
        assert_eq!(z.to_vec(), vec![f64::NEG_INFINITY; 3]);
        assert_eq!(nd::softmax(e.view(), -1, &p, par).unwrap().shape(), &[3, 0]);
    }
    assert_eq!(
        nd::softmax(a.view(), 0, &p, Par::Seq).unwrap().shape(),
        &[0, 3]
    );
}

#[test]
fn errors_name_the_axis_and_shapes() {
    let p = Params::<f64>::default();
    let a = Array::<f64, _>::zeros((2, 3));
    for axis in [2, -3, 100] {
        assert_eq!(
            nd::softmax(a.view(), axis, &p, Par::Seq),
            Err(Error::AxisOutOfRange { axis, ndim: 2 })
        );
        assert!(nd::logsumexp(a.view(), axis, &p, Par::Seq).is_err());
    }
    let mut out = Array::<f64, _>::zeros((3, 2));
    assert_eq!(
        nd::softmax_into(out.view_mut(), a.view(), 0, &p, Par::Seq),
        Err(Error::ShapeMismatch {
            what: "out",
            got: vec![3, 2],
            expected: vec![2, 3]
        })
    );
    let mask = Array::from_elem((2, 2), true);
    assert!(matches!(
        nd::softmax_masked(a.view(), mask.view(), 0, &p, Par::Seq),
        Err(Error::ShapeMismatch { what: "mask", .. })
    ));
    let mut lse = Array::<f64, _>::zeros(3);
    assert!(matches!(
        nd::logsumexp_into(lse.view_mut(), a.view(), 1, &p, Par::Seq),
        Err(Error::ShapeMismatch { what: "out", .. })
    ));
    assert!(nd::logsumexp_into(lse.view_mut(), a.view(), 0, &p, Par::Seq).is_ok());
    let b = Array::<f64, _>::zeros((3, 2));
    assert!(matches!(
        nd::logsumexp_weighted(a.view(), b.view(), 0, &p, Par::Seq),
        Err(Error::ShapeMismatch {
            what: "weights",
            ..
        })
    ));
}

/// Batches whose rows are longer than one kernel block (the one-pass
/// softmax; from 16 KiB also the one-pass log-softmax) and fit in the
/// batch size where rows are paired: the sequential batch path, the
/// threaded lanes and the slice function give the same bits, with each
/// row's maximum in a late block.
#[test]
fn long_rows_in_small_batches_match_the_slice_functions() {
    for n in [3000, 5000] {
        long_rows_match(n);
    }
}

fn long_rows_match(n: usize) {
    let rows = 8;
    let x = Array::from_shape_fn((rows, n), |(r, i)| {
        if i == n - 1 - 97 * r {
            4.0_f32
        } else {
            ((i * 7919 + r) % 1000) as f32 * -0.01
        }
    });
    let p = Params::<f32>::default();
    for f in [
        nd::softmax::<f32, ndarray::Ix2>,
        nd::log_softmax::<f32, ndarray::Ix2>,
    ] {
        let seq = f(x.view(), -1, &p, Par::Seq).unwrap();
        let par = f(x.view(), -1, &p, Par::Threads(2)).unwrap();
        assert!(
            seq.iter()
                .zip(&par)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }
    let seq = nd::softmax(x.view(), -1, &p, Par::Seq).unwrap();
    let lseq = nd::log_softmax(x.view(), -1, &p, Par::Seq).unwrap();
    for r in 0..rows {
        let row = x.row(r).to_vec();
        let want = boltzmax::softmax_with(&row, &p);
        assert!(
            want.iter()
                .zip(seq.row(r))
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "row {r}"
        );
        let want = boltzmax::log_softmax_with(&row, &p);
        assert!(
            want.iter()
                .zip(lseq.row(r))
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "row {r}"
        );
    }
}
