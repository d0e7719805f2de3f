//! softmax, log-softmax and logsumexp on the shapes of issue 2, each
//! beside its floors in the same run: a copy of the same bytes (softmax's
//! memory floor: one read, one write), a read-only sum (logsumexp's), and
//! a plain three-pass Rust loop. Outputs are caller-provided (allocation
//! excluded).
//!
//! `BOLTZMAX_KERNEL=avx2` (or `scalar`) forces a table; the group names
//! carry the table used. `BOLTZMAX_BENCH=small` keeps the in-cache shapes
//! only. Kept short (10 samples) because the machine is shared.
//!
//! `1t` runs the slice functions row by row on the calling thread; `par`
//! is the library's batched API (`nd::*_into` with `Par::Threads(0)`: all
//! cores above `nd::PAR_MIN_ELEMENTS`, one below), while the `par` floors
//! (copy, read, three-pass) split rows over rayon unconditionally.
//!
//! Run: `cargo bench -p boltzmax --bench softmax`, then
//! `python3 benches/report.py` for the ns/element and ratio tables.

use std::hint::black_box;
use std::time::Duration;

use boltzmax::nd::{self, Par};
use boltzmax::{Params, Real, log_softmax_into, logsumexp_with, softmax_into};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{ArrayView2, ArrayViewMut1, ArrayViewMut2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

const F32_SHAPES: [(usize, usize); 7] = [
    (1, 1000),
    (1, 32000),
    (1, 128256),
    (64, 1024),
    (256, 32000),
    (4096, 4096),
    (16, 1048576),
];
const F64_SHAPES: [(usize, usize); 1] = [(4096, 4096)];

/// Shapes whose input fits in L2 (1 MiB per core here).
fn in_cache(rows: usize, cols: usize, bytes: usize) -> bool {
    rows * cols * bytes <= 512 * 1024
}

/// The plain three-pass loop: max, exp and sum, divide.
fn three_pass<F: Real>(out: &mut [F], x: &[F]) {
    let m = x.iter().fold(F::NEG_INFINITY, |a, &b| a.max(b));
    let mut s = F::ZERO;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v - m).exp();
        s += *o;
    }
    for o in out.iter_mut() {
        *o /= s;
    }
}

/// Read-only stream: a sum in 16 independent lanes (vectorisable).
fn read_sum<F: Real>(x: &[F]) -> F {
    let mut acc = [F::ZERO; 16];
    let mut it = x.chunks_exact(16);
    for c in &mut it {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().copied().sum::<F>() + it.remainder().iter().copied().sum::<F>()
}

fn rows_mut<F: Send>(out: &mut [F], cols: usize) -> std::slice::ChunksExactMut<'_, F> {
    out.chunks_exact_mut(cols)
}

fn bench_type<F: Real>(c: &mut Criterion, shapes: &[(usize, usize)]) {
    let small = std::env::var("BOLTZMAX_BENCH").is_ok_and(|v| v == "small");
    let bytes = std::mem::size_of::<F>();
    let kernel = F::kernels().name;
    let p = Params::<F>::default();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    for &(rows, cols) in shapes {
        if small && !in_cache(rows, cols, bytes) {
            continue;
        }
        let n = rows * cols;
        // Logits of a trained model's spread: normal-ish, sd about 4.
        let x: Vec<F> = (0..n)
            .map(|_| F::from_f64((rng.random::<f64>() - 0.5) * 14.0))
            .collect();
        let mut out = vec![F::ZERO; n];
        let mut lse = vec![F::ZERO; rows];
        let big = n * bytes > 8 << 20;
        let mut g = c.benchmark_group(format!("{}/{kernel}/{rows}x{cols}", F::NAME));
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(if big { 600 } else { 300 }));
        g.measurement_time(Duration::from_millis(if big { 2500 } else { 800 }));
        let id = |name: &str, t: &str| BenchmarkId::new(name, t);

        for t in ["1t", "par"] {
            let par = t == "par";
            g.bench_function(id("copy", t), |b| {
                b.iter(|| {
                    if par {
                        out.par_chunks_mut(cols)
                            .zip(x.par_chunks(cols))
                            .for_each(|(o, r)| o.copy_from_slice(r));
                    } else {
                        out.copy_from_slice(&x);
                    }
                    black_box(&mut out);
                })
            });
            g.bench_function(id("read", t), |b| {
                b.iter(|| {
                    if par {
                        black_box(x.par_chunks(cols).map(read_sum).sum::<F>())
                    } else {
                        black_box(read_sum(&x))
                    }
                })
            });
            g.bench_function(id("softmax", t), |b| {
                b.iter(|| {
                    if par {
                        let xv = ArrayView2::from_shape((rows, cols), &x[..]).unwrap();
                        let ov = ArrayViewMut2::from_shape((rows, cols), &mut out[..]).unwrap();
                        nd::softmax_into(ov, xv, -1, &p, Par::Threads(0)).unwrap();
                    } else {
                        for (o, r) in rows_mut(&mut out, cols).zip(x.chunks_exact(cols)) {
                            softmax_into(o, r, &p).unwrap();
                        }
                    }
                    black_box(&mut out);
                })
            });
            g.bench_function(id("log_softmax", t), |b| {
                b.iter(|| {
                    if par {
                        let xv = ArrayView2::from_shape((rows, cols), &x[..]).unwrap();
                        let ov = ArrayViewMut2::from_shape((rows, cols), &mut out[..]).unwrap();
                        nd::log_softmax_into(ov, xv, -1, &p, Par::Threads(0)).unwrap();
                    } else {
                        for (o, r) in rows_mut(&mut out, cols).zip(x.chunks_exact(cols)) {
                            log_softmax_into(o, r, &p).unwrap();
                        }
                    }
                    black_box(&mut out);
                })
            });
            g.bench_function(id("logsumexp", t), |b| {
                b.iter(|| {
                    if par {
                        let xv = ArrayView2::from_shape((rows, cols), &x[..]).unwrap();
                        let lv = ArrayViewMut1::from(&mut lse[..]);
                        nd::logsumexp_into(lv, xv, -1, &p, Par::Threads(0)).unwrap();
                    } else {
                        for (l, r) in lse.iter_mut().zip(x.chunks_exact(cols)) {
                            *l = logsumexp_with(r, &p);
                        }
                    }
                    black_box(&mut lse);
                })
            });
            g.bench_function(id("three_pass", t), |b| {
                b.iter(|| {
                    if par {
                        out.par_chunks_mut(cols)
                            .zip(x.par_chunks(cols))
                            .for_each(|(o, r)| three_pass(o, r));
                    } else {
                        for (o, r) in rows_mut(&mut out, cols).zip(x.chunks_exact(cols)) {
                            three_pass(o, r);
                        }
                    }
                    black_box(&mut out);
                })
            });
        }
        g.finish();
    }
}

fn benches(c: &mut Criterion) {
    bench_type::<f32>(c, &F32_SHAPES);
    bench_type::<f64>(c, &F64_SHAPES);
}

criterion_group!(softmax, benches);
criterion_main!(softmax);
