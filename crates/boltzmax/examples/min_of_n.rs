//! Minimum-of-N timings of softmax, log-softmax and logsumexp (f32, one
//! thread, caller buffers) beside a copy and a read-only sum: on a shared
//! machine the fastest repetition is the least disturbed one. Used for the
//! "min-of-N" columns of docs/benchmarks.md.
//!
//! Run: `cargo run -p boltzmax --release --example min_of_n [small|k]`
//! (`k`: each kernel of each table on a 4096- and a 32000-element row).
use boltzmax::*;
use std::time::Instant;
fn t<Fn_: FnMut()>(mut f: Fn_, n: usize) -> f64 {
    let mut best = f64::INFINITY;
    let reps = (2_000_000 / n).clamp(3, 2000);
    for _ in 0..reps {
        let s = Instant::now();
        f();
        best = best.min(s.elapsed().as_secs_f64());
    }
    best * 1e9 / n as f64
}
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let shapes: Vec<(usize, usize)> = vec![
        (1, 1000),
        (1, 32000),
        (1, 128256),
        (64, 1024),
        (256, 32000),
        (4096, 4096),
        (16, 1048576),
    ];
    if args.len() > 1 && args[1] == "k" {
        kernels_micro();
        return;
    }
    let only_small = args.len() > 1 && args[1] == "small";
    let p = Params::<f32>::default();
    println!(
        "{:>12} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "shape", "copy", "read", "smax", "lsmax", "lse"
    );
    for (r, c) in shapes {
        let n = r * c;
        if only_small && n * 4 > 512 * 1024 {
            continue;
        }
        let x: Vec<f32> = (0..n)
            .map(|i| (((i as u64 * 2654435761) % 10007) as f32 / 10007.0 - 0.5) * 14.0)
            .collect();
        let mut o = vec![0f32; n];
        let mut l = vec![0f32; r];
        let cp = t(
            || {
                o.copy_from_slice(&x);
                std::hint::black_box(&mut o);
            },
            n,
        );
        let rd = t(
            || {
                std::hint::black_box(x.chunks_exact(16).fold([0f32; 16], |mut a, ch| {
                    for j in 0..16 {
                        a[j] += ch[j];
                    }
                    a
                }));
            },
            n,
        );
        let sm = t(
            || {
                for (oo, xx) in o.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                    softmax_into(oo, xx, &p).unwrap();
                }
                std::hint::black_box(&mut o);
            },
            n,
        );
        let ls = t(
            || {
                for (oo, xx) in o.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                    log_softmax_into(oo, xx, &p).unwrap();
                }
                std::hint::black_box(&mut o);
            },
            n,
        );
        let lz = t(
            || {
                for (ll, xx) in l.iter_mut().zip(x.chunks_exact(c)) {
                    *ll = logsumexp_with(xx, &p);
                }
                std::hint::black_box(&mut l);
            },
            n,
        );
        println!(
            "{:>12} {:7.3} {:7.3} {:7.3} {:7.3} {:7.3}",
            format!("{r}x{c}"),
            cp,
            rd,
            sm,
            ls,
            lz
        );
    }
}
#[allow(dead_code)]
pub fn kernels_micro() {
    use boltzmax::kernel::*;
    for k in available_f32() {
        for n in [4096usize, 32000] {
            let x: Vec<f32> = (0..n)
                .map(|i| (((i as u64 * 2654435761) % 10007) as f32 / 10007.0 - 0.5) * 14.0)
                .collect();
            let mut o = vec![0f32; n];
            let m = (k.max)(&x);
            let reps = 20000usize * 1000 / n;
            let tt = |f: &mut dyn FnMut()| {
                let mut b = f64::INFINITY;
                for _ in 0..reps {
                    let s = Instant::now();
                    f();
                    b = b.min(s.elapsed().as_secs_f64());
                }
                b * 1e9 / n as f64
            };
            let a = tt(&mut || {
                std::hint::black_box((k.max)(&x));
            });
            let b = tt(&mut || {
                std::hint::black_box((k.exp_sum)(&x, m, Scaling::One));
            });
            let c = tt(&mut || {
                std::hint::black_box((k.exp_sum_store)(&mut o, &x, m, Scaling::One));
            });
            let d = tt(&mut || {
                (k.scale)(&mut o, 3.0);
                std::hint::black_box(&mut o);
            });
            let e = tt(&mut || {
                (k.exp_store)(&mut o, &x, m, Scaling::One, 3.0);
                std::hint::black_box(&mut o);
            });
            let f = tt(&mut || {
                std::hint::black_box((k.max_exp_sum)(&x, Scaling::One));
            });
            println!(
                "{:7} n={n:6} max {a:.3} exp_sum {b:.3} exp_sum_store {c:.3} scale {d:.3} exp_store {e:.3} fused {f:.3}",
                k.name
            );
        }
    }
}
