//! candle-nn's `softmax_last_dim` beside boltzmax on the shapes of issue
//! 2, in one process, same input. Prints ns/element (median and minimum
//! of the repetitions), the ratio candle / boltzmax, and each one's worst
//! relative error against an f64 reference.
//!
//! candle allocates its output on every call, so boltzmax is timed both
//! into a caller's buffer and allocating a fresh output (the like-for-like
//! comparison). Both use rayon: set `RAYON_NUM_THREADS=1` for one thread.
//!
//! Run: `cargo run --release` (in this folder).

use std::time::Instant;

use boltzmax::{Params, softmax_into};
use candle_core::{Device, Tensor};
use rayon::prelude::*;

fn time(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0])
}

fn main() {
    let shapes = [
        (1, 1000),
        (1, 32000),
        (1, 128256),
        (64, 1024),
        (256, 32000),
        (4096, 4096),
        (16, 1048576),
    ];
    let threads = rayon::current_num_threads();
    println!("threads: {threads}");
    println!(
        "{:>12} {:>14} {:>14} {:>14} {:>7} {:>7} {:>9} {:>9}",
        "shape", "candle", "bmx into", "bmx alloc", "c/into", "c/alloc", "err cndl", "err bmx"
    );
    let p = Params::<f32>::default();
    for (rows, cols) in shapes {
        let n = rows * cols;
        let reps = (50_000_000 / n).clamp(5, 2000);
        let x: Vec<f32> = (0..n)
            .map(|i| (((i as u64 * 2654435761) % 10007) as f32 / 10007.0 - 0.5) * 14.0)
            .collect();
        let t = Tensor::from_vec(x.clone(), (rows, cols), &Device::Cpu).unwrap();
        let c = time(reps, || {
            std::hint::black_box(candle_nn::ops::softmax_last_dim(&t).unwrap());
        });
        let mut out = vec![0f32; n];
        let run = |out: &mut [f32]| {
            if threads > 1 && rows > 1 {
                out.par_chunks_mut(cols)
                    .zip(x.par_chunks(cols))
                    .for_each(|(o, r)| softmax_into(o, r, &p).unwrap());
            } else {
                for (o, r) in out.chunks_exact_mut(cols).zip(x.chunks_exact(cols)) {
                    softmax_into(o, r, &p).unwrap();
                }
            }
        };
        let b = time(reps, || {
            run(&mut out);
            std::hint::black_box(&mut out);
        });
        let a = time(reps, || {
            let mut o = vec![0f32; n];
            run(&mut o);
            std::hint::black_box(o);
        });
        // Both against an f64 reference, or the timing is meaningless.
        let cv: Vec<f32> = candle_nn::ops::softmax_last_dim(&t)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        run(&mut out);
        let (mut err_c, mut err_b) = (0f64, 0f64);
        for ((r, co), bo) in x.chunks(cols).zip(cv.chunks(cols)).zip(out.chunks(cols)) {
            let m = r.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
            let s: f64 = r.iter().map(|&v| (v as f64 - m).exp()).sum();
            for ((&v, &c), &b) in r.iter().zip(co).zip(bo) {
                let e = (v as f64 - m).exp() / s;
                err_c = err_c.max(((c as f64) - e).abs() / e);
                err_b = err_b.max(((b as f64) - e).abs() / e);
            }
        }
        assert!(err_b < 1e-6, "boltzmax off the reference: {err_b}");
        let ns = |t: (f64, f64)| format!("{:.3} ({:.3})", t.0 * 1e9 / n as f64, t.1 * 1e9 / n as f64);
        println!(
            "{:>12} {:>14} {:>14} {:>14} {:>7.1} {:>7.1} {:>9.1e} {:>9.1e}",
            format!("{rows}x{cols}"),
            ns(c),
            ns(b),
            ns(a),
            c.0 / b.0,
            c.0 / a.0,
            err_c,
            err_b
        );
    }
}
