//! softmax, log-softmax and logsumexp along axis 0 of C-ordered f32
//! arrays (lanes side by side: the vertical passes of `nd`), one thread
//! and all cores, beside a copy of the same bytes and the same functions
//! along axis 1 of the same arrays. Outputs are caller-provided.
//!
//! Run: `cargo bench -p boltzmax --bench nd_axis -- --noplot`. Kept short
//! (10 samples) because the machine is shared; quote medians and ratios
//! to the copy of the same run.

use std::hint::black_box;
use std::time::Duration;

use boltzmax::Params;
use boltzmax::nd::{self, Par};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const SHAPES: [(usize, usize); 5] = [
    (4096, 4096),
    (16384, 1024),
    (1024, 1000),
    (65536, 64),
    (64, 65536),
];

fn benches(c: &mut Criterion) {
    let p = Params::<f32>::default();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    for (rows, cols) in SHAPES {
        let n = rows * cols;
        let x = Array2::from_shape_fn((rows, cols), |_| {
            ((rng.random::<f64>() - 0.5) * 14.0) as f32
        });
        let mut out = Array2::<f32>::zeros((rows, cols));
        let mut g = c.benchmark_group(format!("axis/{rows}x{cols}"));
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(300));
        g.measurement_time(Duration::from_millis(1500));
        g.bench_function("copy", |b| {
            b.iter(|| {
                out.assign(&x);
                black_box(&mut out);
            })
        });
        for (t, par) in [("1t", Par::Seq), ("all", Par::Threads(0))] {
            for axis in [0isize, 1] {
                let id = |f: &str| BenchmarkId::new(format!("{f}_axis{axis}"), t);
                g.bench_function(id("softmax"), |b| {
                    b.iter(|| {
                        nd::softmax_into(out.view_mut(), x.view(), axis, &p, par).unwrap();
                        black_box(&mut out);
                    })
                });
                g.bench_function(id("log_softmax"), |b| {
                    b.iter(|| {
                        nd::log_softmax_into(out.view_mut(), x.view(), axis, &p, par).unwrap();
                        black_box(&mut out);
                    })
                });
                let len = if axis == 0 { cols } else { rows };
                let mut lse = Array1::<f32>::zeros(len);
                g.bench_function(id("logsumexp"), |b| {
                    b.iter(|| {
                        nd::logsumexp_into(lse.view_mut(), x.view(), axis, &p, par).unwrap();
                        black_box(&mut lse);
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(nd_axis, benches);
criterion_main!(nd_axis);
