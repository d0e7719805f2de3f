//! Times boltzmax's temperature fit and softmax regression on data written
//! by `benches/peers/calibration_peers.py` (raw little-endian f64 files, as
//! numpy's `tofile` writes them), and prints one JSON line per run.
//!
//! ```text
//! cargo run --release -p boltzmax --example learn_timing -- temperature LOGITS.f64 LABELS.f64 K REPEATS
//! cargo run --release -p boltzmax --example learn_timing -- temperature-threads LOGITS.f64 LABELS.f64 K REPEATS
//! cargo run --release -p boltzmax --example learn_timing -- regression X.f64 LABELS.f64 D C TOL REPEATS
//! ```
//!
//! Each fit runs REPEATS times; the median and the minimum wall time of
//! one fit are reported (file reading excluded), with the fitted values of
//! the last.

use std::time::Instant;

use boltzmax::learn::calibrate::{Metrics, fit_temperature_with};
use boltzmax::learn::classify::lbfgs::LbfgsOptions;
use boltzmax::learn::classify::{TrainOptions, train};
use boltzmax::nd::Par;

fn read_f64(path: &str) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn labels(path: &str) -> Vec<usize> {
    read_f64(path).into_iter().map(|v| v as usize).collect()
}

/// `(median, minimum)` of the times.
fn stats(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0])
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some(mode @ ("temperature" | "temperature-threads")) => {
            // "temperature-threads": passes split over rayon's pool
            // (same answer, bitwise).
            let par = if mode == "temperature" {
                Par::Seq
            } else {
                Par::Threads(0)
            };
            let (z, y) = (read_f64(&a[2]), labels(&a[3]));
            let k: usize = a[4].parse().unwrap();
            let reps: usize = a[5].parse().unwrap();
            let mut times = Vec::new();
            let mut fit = None;
            for _ in 0..reps {
                let t0 = Instant::now();
                fit = Some(fit_temperature_with(&z, k, &y, par).unwrap());
                times.push(t0.elapsed().as_secs_f64());
            }
            let fit = fit.unwrap();
            let cal = fit.calibrator().apply(&z, k).unwrap();
            let m = Metrics::compute(&cal, k, &y, 15).unwrap();
            println!(
                "{{\"temperature\": {:e}, \"beta\": {:e}, \"nll\": {:e}, \"ece\": {:e}, \"evaluations\": {}, \"seconds\": {:e}, \"seconds_min\": {:e}}}",
                fit.temperature,
                fit.beta,
                fit.nll,
                m.ece,
                fit.evaluations,
                stats(times.clone()).0,
                stats(times).1
            );
        }
        Some("regression") => {
            let (x, y) = (read_f64(&a[2]), labels(&a[3]));
            let d: usize = a[4].parse().unwrap();
            let c: f64 = a[5].parse().unwrap();
            let tol: f64 = a[6].parse().unwrap();
            let reps: usize = a[7].parse().unwrap();
            let opts = TrainOptions {
                c,
                lbfgs: LbfgsOptions {
                    gtol: tol,
                    ..LbfgsOptions::default()
                },
                ..TrainOptions::default()
            };
            let mut times = Vec::new();
            let mut out = None;
            for _ in 0..reps {
                let t0 = Instant::now();
                out = Some(train(&x, d, &y, &opts).unwrap());
                times.push(t0.elapsed().as_secs_f64());
            }
            let (model, report) = out.unwrap();
            let objective = model.objective(&x, &y, c).unwrap();
            println!(
                "{{\"objective\": {objective:e}, \"iterations\": {}, \"evaluations\": {}, \"converged\": {}, \"seconds\": {:e}, \"seconds_min\": {:e}}}",
                report.iterations,
                report.evaluations,
                report.converged,
                stats(times.clone()).0,
                stats(times).1
            );
        }
        _ => {
            eprintln!(
                "usage: learn_timing temperature LOGITS LABELS K REPEATS | regression X LABELS D C TOL REPEATS"
            );
            std::process::exit(2);
        }
    }
}
