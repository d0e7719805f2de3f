//! The n-d API against the slice API, lane by lane: every axis, negative
//! axes, non-contiguous and reversed views, masks, weights, and any thread
//! count. Bitwise, but for the lanes computed side by side (the vertical
//! passes along a non-last axis of rows with contiguous lanes), which
//! differ from the slice functions only in the order of their sums and
//! are held to the bound that follows from it.

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

/// Relative error bound of a lane's sum of exps, either way of adding it:
/// the slice kernels add up to 64 terms per vector lane in `F` (32 for
/// AVX-512 f32), the vertical passes up to 16, the rest in f64.
fn sum_bound<F: Real>(n: usize) -> f64 {
    let eps = F::EPSILON.to_f64();
    40.0 * eps.max(f64::EPSILON) + (n as f64 + 64.0) * f64::EPSILON
}

/// `got` (a lane computed side by side) against `want` (the slice
/// function's): equal where `want` is an edge case (NaN, infinite, zero or
/// one), else within what two sums of the same exps in different orders
/// allow: for softmax a relative `2 g + 3 eps` (`g` = [`sum_bound`]), for
/// log-softmax an absolute `(2 g + 2 eps)(|c| + |y|)` with `c` the lane's
/// `ln(1 + s)` (minus its value at the maximum).
fn close_lane<F: Real>(log: bool, want: &[F], got: &[F]) -> bool {
    let g = sum_bound::<F>(want.len());
    let eps = F::EPSILON.to_f64();
    let c = want
        .iter()
        .map(|v| -v.to_f64())
        .filter(|v| !v.is_nan())
        .fold(f64::INFINITY, f64::min)
        .abs();
    want.iter().zip(got).all(|(a, b)| {
        let (a, b) = (a.to_f64(), b.to_f64());
        if !a.is_finite() || a == 0.0 || a == 1.0 {
            return same(a, b);
        }
        let tol = if log {
            (2.0 * g + 2.0 * eps) * (c + a.abs())
        } else {
            (2.0 * g + 3.0 * eps) * a.abs()
        };
        (a - b).abs() <= tol
    })
}

/// logsumexp `got` against `want`: equal for edge cases, else within
/// `(2 g + 2 eps)(ln n + |want|)`.
fn close_lse<F: Real>(n: usize, want: F, got: F) -> bool {
    let (a, b) = (want.to_f64(), got.to_f64());
    if !a.is_finite() {
        return same(a, b);
    }
    let eps = F::EPSILON.to_f64();
    (a - b).abs() <= (2.0 * sum_bound::<F>(n) + 2.0 * eps) * ((n as f64).ln() + a.abs())
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
        // (Lanes side by side need rows of contiguous lanes in the output
        // too: into an F-ordered output the lanes take the copies, so the
        // two may differ in the last bits, within the sums' bound.)
        for (a, b) in sm.lanes(ax).into_iter().zip(out_f.lanes(ax)) {
            assert!(close_lane(false, &a.to_vec(), &b.to_vec()), "axis {axis}");
        }
        let lanes = x.lanes(ax);
        let mut count = 0;
        for (i, lane) in lanes.into_iter().enumerate() {
            count += 1;
            let v = lane.to_vec();
            let m: Vec<bool> = mask.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            let bw: Vec<F> = b.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            let want = boltzmax::softmax_with(&v, p);
            let got: Vec<F> = sm.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            assert!(close_lane(false, &want, &got), "axis {axis}");
            let want = boltzmax::log_softmax_with(&v, p);
            let got: Vec<F> = ls.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            assert!(close_lane(true, &want, &got), "axis {axis}");
            let want = boltzmax::softmax_masked(&v, &m, p).unwrap();
            let got: Vec<F> = smm.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            assert!(want.iter().zip(&got).all(|(a, b)| same(*a, *b)));
            let want = boltzmax::log_softmax_masked(&v, &m, p).unwrap();
            let got: Vec<F> = lsm.lanes(ax).into_iter().nth(i).unwrap().to_vec();
            assert!(want.iter().zip(&got).all(|(a, b)| same(*a, *b)));
            let flat = |a: &ArrayD<F>| a.iter().nth(i).copied().unwrap();
            assert!(close_lse(
                v.len(),
                boltzmax::logsumexp_with(&v, p),
                flat(&lse)
            ));
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
    // Lanes side by side in three dimensions, with rows walked backwards
    // (negative strides), from a strided slice, and split between threads.
    let wide3 = random_array::<F>(&mut r, &[5, 7, 19]);
    let p = Params::beta(F::from_f64(1.3)).unwrap();
    check_against_slices(wide3.view(), &p, Par::Seq);
    let mut rev = wide3.view();
    rev.invert_axis(Axis(0));
    rev.invert_axis(Axis(1));
    check_against_slices(rev, &p, Par::Threads(3));
    let big = random_array::<F>(&mut r, &[40, 3, 60]);
    check_against_slices(big.slice(s![..;3, .., 7..]).into_dyn(), &p, Par::Threads(2));
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
    // Tall blocks of few lanes side by side: their rows are split between
    // the threads (whole groups of rows for the sums).
    let tall = random_array::<f32>(&mut r, &[7000, 40]);
    assert!(tall.len() >= PAR_MIN_ELEMENTS);
    let bits = |x: &ArrayD<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let p = Params::temperature(0.6).unwrap();
    let seq = [
        nd::softmax(tall.view(), 0, &p, Par::Seq).unwrap(),
        nd::log_softmax(tall.view(), 0, &p, Par::Seq).unwrap(),
        nd::logsumexp(tall.view(), 0, &p, Par::Seq).unwrap(),
    ];
    for t in [2, 3, 7, 0] {
        let par = [
            nd::softmax(tall.view(), 0, &p, Par::Threads(t)).unwrap(),
            nd::log_softmax(tall.view(), 0, &p, Par::Threads(t)).unwrap(),
            nd::logsumexp(tall.view(), 0, &p, Par::Threads(t)).unwrap(),
        ];
        for (a, b) in seq.iter().zip(&par) {
            assert_eq!(bits(a), bits(b), "tall, {t} threads");
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

/// Lanes side by side (axis 0 of a C-ordered array with enough lanes for
/// the vertical passes) holding every edge case next to regular lanes:
/// the edge-case lanes get the slice functions' answers bitwise (they are
/// handed to them), the regular ones agree within the sums' bound, for
/// every kind of scale (a negative beta and `beta = 0` take the slice
/// functions for all lanes).
fn edge_lanes<F: Real>() {
    // Near the largest finite value: `x - m` overflows, so `z` is formed
    // by scaling first (the overflow fallback).
    let big = F::from_f64(if F::MANTISSA_DIGITS == 24 {
        3.0e38
    } else {
        1.7e308
    });
    let (inf, nan) = (F::INFINITY, F::NAN);
    let f = F::from_f64;
    let cols: Vec<Vec<F>> = vec![
        vec![f(1.0), f(2.0), f(-3.0), f(0.5), f(4.0), f(-1.0)],
        vec![f(1.0), nan, f(2.0), f(0.0), f(1.0), f(1.0)],
        vec![f(1.0), inf, f(2.0), f(0.0), f(1.0), f(1.0)],
        vec![inf, f(0.0), inf, f(0.0), f(1.0), f(1.0)],
        vec![-inf; 6],
        vec![-inf, f(2.0), -inf, f(1.0), -inf, f(-7.0)],
        vec![f(3.0), f(3.0), f(1.0), f(3.0), f(0.0), f(-2.0)],
        vec![big, -big, f(0.0), f(1.0), -big, big],
        vec![f(5.0); 6],
        vec![f(1e-30), f(-1e-30), f(0.0), f(2e-30), f(0.0), f(0.0)],
        vec![f(-40.0), f(40.0), f(-90.0), f(10.0), f(20.0), f(-5.0)],
        vec![f(7.0), f(6.5), f(6.0), f(-6.0), f(0.25), f(0.125)],
    ];
    let x = Array::from_shape_fn((6, cols.len()), |(i, j)| cols[j][i]);
    let edge = [1usize, 2, 3, 4];
    let mut params = vec![
        Params::default(),
        Params::temperature(f(0.5)).unwrap(),
        Params::beta(f(2.0)).unwrap(),
        Params::beta(f(-1.0)).unwrap(),
        Params::beta(f(0.0)).unwrap(),
    ];
    let mut zeros = Params::temperature(f(3.0)).unwrap();
    zeros.undefined_rows = boltzmax::UndefinedRows::Zeros;
    params.push(zeros);
    for p in &params {
        for par in [Par::Seq, Par::Threads(2)] {
            let sm = nd::softmax(x.view(), 0, p, par).unwrap();
            let ls = nd::log_softmax(x.view(), 0, p, par).unwrap();
            let lse = nd::logsumexp(x.view(), 0, p, par).unwrap();
            for (j, lane) in cols.iter().enumerate() {
                let want = boltzmax::softmax_with(lane, p);
                let got = sm.column(j).to_vec();
                let wl = boltzmax::log_softmax_with(lane, p);
                let gl = ls.column(j).to_vec();
                let wz = boltzmax::logsumexp_with(lane, p);
                if edge.contains(&j) {
                    assert!(want.iter().zip(&got).all(|(a, b)| same(*a, *b)), "lane {j}");
                    assert!(wl.iter().zip(&gl).all(|(a, b)| same(*a, *b)), "lane {j}");
                    assert!(same(wz, lse[j]), "lane {j}");
                } else {
                    assert!(close_lane(false, &want, &got), "lane {j}: {want:?} {got:?}");
                    assert!(close_lane(true, &wl, &gl), "lane {j}: {wl:?} {gl:?}");
                    assert!(close_lse(6, wz, lse[j]), "lane {j}: {wz:?} {:?}", lse[j]);
                }
            }
        }
    }
}

#[test]
fn lanes_side_by_side_keep_every_edge_case_f32() {
    edge_lanes::<f32>();
}

#[test]
fn lanes_side_by_side_keep_every_edge_case_f64() {
    edge_lanes::<f64>();
}

/// Worst error in ulp of `got` against `reference` (f64), for f32 results.
fn worst_ulp(got: &[f32], reference: &[f64]) -> f64 {
    got.iter()
        .zip(reference)
        .map(|(&g, &r)| {
            let ulp = (r as f32).abs().max(f32::MIN_POSITIVE);
            let ulp = f32::from_bits(ulp.to_bits() + 1) - ulp;
            (g as f64 - r).abs() / ulp as f64
        })
        .fold(0.0, f64::max)
}

/// The vertical passes in each of their modes (the whole block in cache,
/// blocks of lanes in cache, streaming; lanes longer than one group of
/// sums) against an f64 reference: never more than 2 ulp worse than the
/// slice functions on the same lanes, which the accuracy grid bounds.
#[test]
fn lanes_side_by_side_are_as_accurate_as_the_slice_functions() {
    let mut r = Xoshiro256PlusPlus::seed_from_u64(11);
    for (shape, t) in [
        ((100, 100), 1.0),
        ((40, 3000), 0.37),
        ((2000, 40), 1.0),
        ((1100, 9), 2.5),
    ] {
        let x = random_array::<f32>(&mut r, &[shape.0, shape.1])
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap();
        let p = Params::temperature(t as f32).unwrap();
        let sm = nd::softmax(x.view(), 0, &p, Par::Seq).unwrap();
        let ls = nd::log_softmax(x.view(), 0, &p, Par::Seq).unwrap();
        let lse = nd::logsumexp(x.view(), 0, &p, Par::Seq).unwrap();
        let (mut worst, mut worst_slice) = ([0.0f64; 3], [0.0f64; 3]);
        for j in 0..shape.1 {
            let lane = x.column(j).to_vec();
            let z: Vec<f64> = lane.iter().map(|&v| v as f64 / t).collect();
            let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = z.iter().map(|v| (v - m).exp()).sum();
            let ref_sm: Vec<f64> = z.iter().map(|v| (v - m).exp() / sum).collect();
            let ref_ls: Vec<f64> = z.iter().map(|v| v - m - sum.ln()).collect();
            let ref_lse = [m + sum.ln()];
            let got = [
                worst_ulp(&sm.column(j).to_vec(), &ref_sm),
                worst_ulp(&ls.column(j).to_vec(), &ref_ls),
                worst_ulp(&[lse[j]], &ref_lse),
            ];
            let slice = [
                worst_ulp(&boltzmax::softmax_with(&lane, &p), &ref_sm),
                worst_ulp(&boltzmax::log_softmax_with(&lane, &p), &ref_ls),
                worst_ulp(&[boltzmax::logsumexp_with(&lane, &p)], &ref_lse),
            ];
            for k in 0..3 {
                worst[k] = worst[k].max(got[k]);
                worst_slice[k] = worst_slice[k].max(slice[k]);
            }
        }
        eprintln!(
            "{shape:?} T = {t}: worst ulp side by side {worst:?}, slice functions {worst_slice:?}"
        );
        for k in 0..3 {
            assert!(
                worst[k] <= worst_slice[k] + 2.0,
                "{shape:?} function {k}: {} ulp against the slice's {}",
                worst[k],
                worst_slice[k]
            );
        }
    }
}

/// A lane's bits do not depend on which lanes sit beside it, so not on
/// the mode the block's size selects (whole block in cache, blocks of
/// lanes in cache, streaming) nor on the split between threads.
#[test]
fn lanes_side_by_side_do_not_depend_on_their_neighbours() {
    let mut r = Xoshiro256PlusPlus::seed_from_u64(12);
    for (n, wide) in [(60, 3000), (70, 5000)] {
        let x = random_array::<f32>(&mut r, &[n, wide])
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap();
        let narrow = x.slice(s![.., 100..120]).to_owned();
        let p = Params::temperature(0.8).unwrap();
        let bits = |a: ndarray::ArrayView2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for par in [Par::Seq, Par::Threads(2)] {
            let a = nd::softmax(x.view(), 0, &p, par).unwrap();
            let b = nd::softmax(narrow.view(), 0, &p, Par::Seq).unwrap();
            assert_eq!(bits(a.slice(s![.., 100..120])), bits(b.view()));
            let a = nd::log_softmax(x.view(), 0, &p, par).unwrap();
            let b = nd::log_softmax(narrow.view(), 0, &p, Par::Seq).unwrap();
            assert_eq!(bits(a.slice(s![.., 100..120])), bits(b.view()));
            let a = nd::logsumexp(x.view(), 0, &p, par).unwrap();
            let b = nd::logsumexp(narrow.view(), 0, &p, Par::Seq).unwrap();
            assert_eq!(
                a.slice(s![100..120])
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}

/// Every table's vertical kernels against the scalar table's: the maxima,
/// NaN flags, tie counts and `z - k` bitwise, the exps within the SIMD
/// exp's 2 ulp (plus one rounding for the product, one per added term).
#[test]
fn vertical_kernels_of_every_table_match_the_scalar_table() {
    use boltzmax::kernel::{Lanes, LanesMut, Scaling, available_f32, scalar};
    let mut r = Xoshiro256PlusPlus::seed_from_u64(13);
    let (n, w) = (5, 37);
    let mut x = random_array::<f32>(&mut r, &[n, w + 3])
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    x[[2, 4]] = f32::NAN;
    x[[1, 9]] = f32::NEG_INFINITY;
    let xv = x.slice(s![.., 1..w + 1]);
    let m: Vec<f32> = (0..w)
        .map(|j| {
            xv.column(j)
                .iter()
                .cloned()
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .collect();
    let k: Vec<f32> = (0..w).map(|j| 0.5 + j as f32 / 64.0).collect();
    for table in available_f32() {
        for s in [Scaling::One, Scaling::Div(0.7), Scaling::Mul(1.9)] {
            let run = |t: &boltzmax::kernel::Kernels<f32>| {
                let (mut mm, mut nan) = (vec![f32::NEG_INFINITY; w], vec![0.0; w]);
                (t.cols_max)(Lanes::new(xv).unwrap(), &mut mm, &mut nan);
                let (mut acc, mut ties) = (vec![0.0; w], vec![0.0; w]);
                let mut e = ndarray::Array2::<f32>::zeros((n, w));
                (t.cols_exp_sum)(
                    Some(LanesMut::new(e.view_mut()).unwrap()),
                    Lanes::new(xv).unwrap(),
                    &m,
                    s,
                    &mut acc,
                    &mut ties,
                );
                let mut times = ndarray::Array2::<f32>::zeros((n, w));
                (t.cols_exp_times)(
                    LanesMut::new(times.view_mut()).unwrap(),
                    Lanes::new(xv).unwrap(),
                    &m,
                    s,
                    &k,
                );
                let mut minus = ndarray::Array2::<f32>::zeros((n, w));
                (t.cols_minus)(
                    LanesMut::new(minus.view_mut()).unwrap(),
                    Lanes::new(xv).unwrap(),
                    &m,
                    s,
                    &k,
                );
                (mm, nan, acc, ties, e, times, minus)
            };
            let a = run(table);
            let b = run(&scalar::F32);
            let lanes_ok =
                (0..w).all(|j| same(a.0[j], b.0[j]) || xv.column(j).iter().any(|v| v.is_nan()));
            assert!(lanes_ok, "{} maxima", table.name);
            assert!(
                a.1.iter().zip(&b.1).all(|(p, q)| same(*p, *q)),
                "{} NaN flags",
                table.name
            );
            assert_eq!(a.3, b.3, "{} ties", table.name);
            assert!(
                a.6.iter().zip(b.6.iter()).all(|(p, q)| same(*p, *q)),
                "{} minus",
                table.name
            );
            let close = |p: f32, q: f32, ulps: f32| {
                same(p, q) || (p - q).abs() <= ulps * f32::EPSILON * q.abs().max(f32::MIN_POSITIVE)
            };
            assert!(
                a.4.iter().zip(b.4.iter()).all(|(p, q)| close(*p, *q, 2.0)),
                "{} exps",
                table.name
            );
            assert!(
                a.5.iter().zip(b.5.iter()).all(|(p, q)| close(*p, *q, 3.0)),
                "{} exp times k",
                table.name
            );
            assert!(
                a.2.iter()
                    .zip(&b.2)
                    .all(|(p, q)| close(*p, *q, 2.0 + n as f32)),
                "{} sums",
                table.name
            );
        }
    }
}

/// Lanes whose maximum comes last, first, after a run of -inf longer than
/// a block of rows, or repeats across blocks (ties counted once), and
/// lanes of slowly rising values: agree with the slice functions within
/// the sums' bound, f32 and f64.
fn running_maxima<F: Real>() {
    let n = 100;
    let f = |v: f64| F::from_f64(v);
    let cols: Vec<Vec<F>> = vec![
        (0..n).map(|i| f(i as f64 * 0.37)).collect(),
        (0..n)
            .map(|i| {
                if i < 40 {
                    F::NEG_INFINITY
                } else {
                    f((i as f64).sin() * 5.0)
                }
            })
            .collect(),
        (0..n).map(|i| f(-(i as f64) * 0.21)).collect(),
        (0..n)
            .map(|i| {
                if i % 17 == 3 {
                    f(5.0)
                } else {
                    f((i as f64).cos())
                }
            })
            .collect(),
        (0..n)
            .map(|i| f(((i * 7919) % 101) as f64 * 0.5 - 20.0))
            .collect(),
        (0..n)
            .map(|i| {
                if i == n - 1 {
                    f(60.0)
                } else {
                    f(i as f64 * 0.01)
                }
            })
            .collect(),
        (0..n).map(|i| f(1e-3 * i as f64)).collect(),
        (0..n)
            .map(|i| if i < 90 { F::NEG_INFINITY } else { f(2.0) })
            .collect(),
    ];
    let x = Array::from_shape_fn((n, cols.len()), |(i, j)| cols[j][i]);
    for p in [
        Params::default(),
        Params::temperature(f(0.3)).unwrap(),
        Params::beta(f(4.0)).unwrap(),
    ] {
        let sm = nd::softmax(x.view(), 0, &p, Par::Seq).unwrap();
        let ls = nd::log_softmax(x.view(), 0, &p, Par::Seq).unwrap();
        let lse = nd::logsumexp(x.view(), 0, &p, Par::Seq).unwrap();
        for (j, lane) in cols.iter().enumerate() {
            let want = boltzmax::softmax_with(lane, &p);
            assert!(close_lane(false, &want, &sm.column(j).to_vec()), "lane {j}");
            let want = boltzmax::log_softmax_with(lane, &p);
            assert!(close_lane(true, &want, &ls.column(j).to_vec()), "lane {j}");
            let want = boltzmax::logsumexp_with(lane, &p);
            assert!(
                close_lse(n, want, lse[j]),
                "lane {j}: {want:?} {:?}",
                lse[j]
            );
        }
    }
}

#[test]
fn lanes_side_by_side_with_late_early_and_repeated_maxima() {
    running_maxima::<f32>();
    running_maxima::<f64>();
}
