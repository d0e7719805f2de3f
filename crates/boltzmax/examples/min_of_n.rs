//! Minimum-of-N timings of softmax, log-softmax and logsumexp (f32, one
//! thread, caller buffers) beside a copy and a read-only sum: on a shared
//! machine the fastest repetition is the least disturbed one. Used for the
//! "min-of-N" columns of docs/benchmarks.md.
//!
//! Run: `cargo run -p boltzmax --release --example min_of_n [small|k]`
//! (`k`: each kernel of each table on a 4096- and a 32000-element row;
//! `ab`: the large shapes, every function timed in turn within each of 41
//! rounds so that a disturbance hits all of them alike, minimum and
//! median; `stores`: ordinary against non-temporal stores on a 64 MiB
//! stream, per 16 KiB row, AVX-512 only; `axis`: the n-d functions along
//! axis 0 against axis 1 of the same C-ordered arrays, beside a copy).
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
    if args.len() > 1 && args[1] == "axis" {
        axis0();
        return;
    }
    if args.len() > 1 && args[1] == "ab" {
        interleaved();
        return;
    }
    if args.len() > 1 && args[1] == "stores" {
        #[cfg(target_arch = "x86_64")]
        stores();
        return;
    }
    let only_small = args.len() > 1 && args[1] == "small";
    let p = Params::<f32>::default();
    println!(
        "{:>12} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "shape", "copy", "read", "smax", "lsmax", "lse", "smax-nd", "lsm-nd"
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
        // The batched API, one thread (rows pipelined).
        let nd_time = |log: bool, o: &mut Vec<f32>| {
            t(
                || {
                    let xv = ndarray::ArrayView2::from_shape((r, c), &x[..]).unwrap();
                    let ov = ndarray::ArrayViewMut2::from_shape((r, c), &mut o[..]).unwrap();
                    if log {
                        nd::log_softmax_into(ov, xv, -1, &p, nd::Par::Seq).unwrap();
                    } else {
                        nd::softmax_into(ov, xv, -1, &p, nd::Par::Seq).unwrap();
                    }
                    std::hint::black_box(&mut *o);
                },
                n,
            )
        };
        let smn = nd_time(false, &mut o);
        let lsn = nd_time(true, &mut o);
        println!(
            "{:>12} {:7.3} {:7.3} {:7.3} {:7.3} {:7.3} {:7.3} {:7.3}",
            format!("{r}x{c}"),
            cp,
            rd,
            sm,
            ls,
            lz,
            smn,
            lsn
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

/// Minimum and median of each column over interleaved rounds.
fn report(label: &str, names: &[&str], times: &mut [Vec<f64>]) {
    let mut line = format!("{label:>12}");
    for (name, ts) in names.iter().zip(times.iter_mut()) {
        ts.sort_by(f64::total_cmp);
        line += &format!("  {name} {:.3} ({:.3})", ts[0], ts[ts.len() / 2]);
    }
    println!("{line}");
}

/// The large shapes, each function timed once per round, 41 rounds.
#[allow(dead_code)]
pub fn interleaved() {
    let p = Params::<f32>::default();
    println!("ns/elem: min (median) of 41 interleaved rounds");
    for (r, c) in [(256usize, 32000usize), (4096, 4096), (16, 1048576)] {
        let n = r * c;
        let x: Vec<f32> = (0..n)
            .map(|i| (((i as u64 * 2654435761) % 10007) as f32 / 10007.0 - 0.5) * 14.0)
            .collect();
        let mut o = vec![0f32; n];
        let mut l = vec![0f32; r];
        let names = ["copy", "read", "smax", "lsmax", "lse", "smax-nd"];
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
        for _ in 0..41 {
            for (j, ts) in times.iter_mut().enumerate() {
                let s = Instant::now();
                match j {
                    0 => o.copy_from_slice(&x),
                    1 => {
                        std::hint::black_box(x.chunks_exact(16).fold([0f32; 16], |mut a, ch| {
                            for j in 0..16 {
                                a[j] += ch[j];
                            }
                            a
                        }));
                    }
                    2 => {
                        for (oo, xx) in o.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                            softmax_into(oo, xx, &p).unwrap();
                        }
                    }
                    3 => {
                        for (oo, xx) in o.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                            log_softmax_into(oo, xx, &p).unwrap();
                        }
                    }
                    4 => {
                        for (ll, xx) in l.iter_mut().zip(x.chunks_exact(c)) {
                            *ll = logsumexp_with(xx, &p);
                        }
                    }
                    _ => {
                        let xv = ndarray::ArrayView2::from_shape((r, c), &x[..]).unwrap();
                        let ov = ndarray::ArrayViewMut2::from_shape((r, c), &mut o[..]).unwrap();
                        nd::softmax_into(ov, xv, -1, &p, nd::Par::Seq).unwrap();
                    }
                }
                std::hint::black_box((&mut o, &mut l));
                ts.push(s.elapsed().as_secs_f64() * 1e9 / n as f64);
            }
        }
        report(&format!("{r}x{c}"), &names, &mut times);
    }
}

/// `out_i = x_i * c` over 16 MiB f32 (64 MiB in, 64 MiB out), per 16 KiB
/// row as softmax writes its output: ordinary stores (each output line is
/// read before it is written) against non-temporal ones (`vmovntps`, one
/// `sfence` at the end), beside `copy_from_slice`. 31 interleaved rounds.
#[cfg(target_arch = "x86_64")]
#[allow(dead_code)]
pub fn stores() {
    use std::arch::x86_64::*;
    if !is_x86_feature_detected!("avx512f") {
        println!("stores: needs AVX-512F");
        return;
    }
    #[target_feature(enable = "avx512f")]
    fn scale_rows(o: &mut [f32], x: &[f32], nt: bool) {
        // 64-byte aligned start, so that every streaming store is aligned.
        let skip = o.as_ptr().align_offset(64).min(o.len());
        let (head, body) = o.split_at_mut(skip);
        for (h, v) in head.iter_mut().zip(x) {
            *h = v * 0.5;
        }
        let x = &x[skip..];
        for (orow, xrow) in body.chunks_mut(4096).zip(x.chunks(4096)) {
            let mut oc = orow.chunks_exact_mut(16);
            let mut xc = xrow.chunks_exact(16);
            for (oo, xx) in (&mut oc).zip(&mut xc) {
                // SAFETY: 16 elements each; `oo` is 64-byte aligned.
                unsafe {
                    let v = _mm512_mul_ps(_mm512_loadu_ps(xx.as_ptr()), _mm512_set1_ps(0.5));
                    if nt {
                        _mm512_stream_ps(oo.as_mut_ptr(), v);
                    } else {
                        _mm512_storeu_ps(oo.as_mut_ptr(), v);
                    }
                }
            }
            for (oo, xx) in oc.into_remainder().iter_mut().zip(xc.remainder()) {
                *oo = xx * 0.5;
            }
        }
        if nt {
            // SAFETY: AVX-512F implies SSE.
            _mm_sfence();
        }
    }
    let n = 4096 * 4096;
    let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let mut o = vec![0f32; n];
    let names = ["copy", "plain", "nt"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for _ in 0..31 {
        for (j, ts) in times.iter_mut().enumerate() {
            let s = Instant::now();
            match j {
                0 => o.copy_from_slice(&x),
                // SAFETY: AVX-512F was detected above.
                1 => unsafe { scale_rows(&mut o, &x, false) },
                _ => unsafe { scale_rows(&mut o, &x, true) },
            }
            std::hint::black_box(&mut o);
            ts.push(s.elapsed().as_secs_f64() * 1e9 / n as f64);
        }
    }
    println!("ns/elem: min (median) of 31 interleaved rounds, 4096x4096 f32");
    report("stores", &names, &mut times);
}

/// The n-d functions along axis 0 (lanes side by side, the vertical
/// passes) and along axis 1 (contiguous rows) of C-ordered f32 arrays,
/// one thread, beside a copy of the same bytes (ns per element, minimum).
fn axis0() {
    let p = Params::<f32>::default();
    println!(
        "{:>12} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "shape", "copy", "smax0", "lsmax0", "lse0", "smax1", "lsmax1", "lse1"
    );
    for (r, c) in [
        (4096, 4096),
        (16384, 1024),
        (1024, 4096),
        (1024, 1000),
        (65536, 64),
        (64, 65536),
        (4, 262144),
    ] {
        let n = r * c;
        let x: Vec<f32> = (0..n)
            .map(|i| (((i as u64 * 2654435761) % 10007) as f32 / 10007.0 - 0.5) * 14.0)
            .collect();
        let xv = ndarray::ArrayView2::from_shape((r, c), &x[..]).unwrap();
        let mut o = ndarray::Array2::<f32>::zeros((r, c));
        let cp = t(
            || {
                o.as_slice_mut().unwrap().copy_from_slice(&x);
                std::hint::black_box(&mut o);
            },
            n,
        );
        let mut row = Vec::new();
        for axis in [0, 1] {
            row.push(t(
                || {
                    nd::softmax_into(o.view_mut(), xv, axis, &p, nd::Par::Seq).unwrap();
                    std::hint::black_box(&mut o);
                },
                n,
            ));
            row.push(t(
                || {
                    nd::log_softmax_into(o.view_mut(), xv, axis, &p, nd::Par::Seq).unwrap();
                    std::hint::black_box(&mut o);
                },
                n,
            ));
            row.push(t(
                || {
                    std::hint::black_box(nd::logsumexp(xv, axis, &p, nd::Par::Seq).unwrap());
                },
                n,
            ));
        }
        println!(
            "{:>12} {:7.3} {:7.3} {:7.3} {:7.3} {:7.3} {:7.3} {:7.3}",
            format!("{r}x{c}"),
            cp,
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5]
        );
    }
}
