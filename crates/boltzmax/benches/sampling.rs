//! Sampling on a 128,256-entry f32 vocabulary (Llama 3's), single-threaded
//! unless stated, beside the yardstick of one full sort in the same run:
//!
//! - `chain/<logits>`: temperature 0.8 + top-k 50 + top-p 0.9 + one draw
//!   (Hugging Face order), from the logits to the drawn index;
//! - `min_p/<logits>`: min-p 0.05 + one draw;
//! - `top_p/<logits>`: top-p 0.9 alone (no top-k first) + one draw;
//! - `full_sort/<logits>`: `sort_unstable_by` of (logit, index) pairs;
//! - `alias/draws_1000`: 1000 draws from a prebuilt alias table;
//! - `categorical/build`, `categorical/draws_1000`, `gumbel_max/pass`;
//! - `batch64/{threads,one_thread}`: the chain on 64 rows with rayon
//!   (all cores) and inside a one-thread pool.
//!
//! Logits: `peaked` (2 * Gumbel noise plus two dominant tokens), `flat`
//! (nearly flat: 0.01 * Gumbel noise) and `flat_exact` (all equal: top-k
//! keeps every tie, so top-p must look at the whole vocabulary). They are
//! written to `target/bench-data/sampling_<name>.f32` (raw little-endian)
//! for `benches/peers/sampling_numpy.py`, which runs the same steps.
//!
//! Run: `cargo bench -p boltzmax --bench sampling`.

use std::hint::black_box;
use std::time::Duration;

use boltzmax::Params;
use boltzmax::sample::{
    AliasTable, Categorical, Chain, ChainConfig, gumbel, gumbel_max, stream_rng,
};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::distr::Distribution;

const N: usize = 128_256;

fn logits(name: &str, stream: u64) -> Vec<f32> {
    let mut rng = stream_rng(2026, stream);
    let mut x: Vec<f32> = match name {
        "peaked" => (0..N).map(|_| (2.0 * gumbel(&mut rng)) as f32).collect(),
        "flat" => (0..N).map(|_| (0.01 * gumbel(&mut rng)) as f32).collect(),
        _ => vec![0.0; N],
    };
    if name == "peaked" {
        x[17] += 14.0;
        x[4242] += 12.0;
    }
    x
}

fn write_data(name: &str, x: &[f32]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    if std::fs::create_dir_all(&dir).is_ok() {
        let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        let _ = std::fs::write(dir.join(format!("sampling_{name}.f32")), bytes);
    }
}

fn bench(c: &mut Criterion) {
    let chain = Chain::new(&ChainConfig {
        temperature: 0.8,
        top_k: Some(50),
        top_p: Some(0.9),
        ..ChainConfig::default()
    })
    .unwrap();
    let min_p = Chain::new(&ChainConfig {
        min_p: Some(0.05),
        ..ChainConfig::default()
    })
    .unwrap();
    let top_p = Chain::new(&ChainConfig {
        top_p: Some(0.9),
        ..ChainConfig::default()
    })
    .unwrap();
    let mut rng = stream_rng(1, 0);
    for name in ["peaked", "flat", "flat_exact"] {
        let x = logits(name, 0);
        write_data(name, &x);
        let kept = chain.kept(&x).unwrap().len();
        let kept_min = min_p.kept(&x).unwrap().len();
        let kept_p = top_p.kept(&x).unwrap().len();
        eprintln!("{name}: chain keeps {kept}, min-p keeps {kept_min}, top-p keeps {kept_p}");
        let mut g = c.benchmark_group(format!("sampling/{name}"));
        g.bench_function("chain", |b| {
            b.iter(|| chain.sample(black_box(&x), &mut rng).unwrap())
        });
        g.bench_function("min_p", |b| {
            b.iter(|| min_p.sample(black_box(&x), &mut rng).unwrap())
        });
        g.bench_function("top_p", |b| {
            b.iter(|| top_p.sample(black_box(&x), &mut rng).unwrap())
        });
        g.bench_function("full_sort", |b| {
            b.iter(|| {
                let mut v: Vec<(f32, u32)> = x.iter().copied().zip(0..).collect();
                v.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
                black_box(v[0].1)
            })
        });
        g.finish();
    }

    let x = logits("peaked", 0);
    let p = Params::default();
    let mut g = c.benchmark_group("sampling/draws");
    let table = AliasTable::new(&x, &p).unwrap();
    g.bench_function("alias_build", |b| {
        b.iter(|| AliasTable::new(black_box(&x), &p).unwrap())
    });
    g.bench_function("alias_draws_1000", |b| {
        b.iter(|| {
            let mut s = 0usize;
            for _ in 0..1000 {
                s = s.wrapping_add(table.sample(&mut rng));
            }
            s
        })
    });
    let cat = Categorical::new(&x, &p).unwrap();
    g.bench_function("categorical_build", |b| {
        b.iter(|| Categorical::new(black_box(&x), &p).unwrap())
    });
    g.bench_function("categorical_draws_1000", |b| {
        b.iter(|| {
            let mut s = 0usize;
            for _ in 0..1000 {
                s = s.wrapping_add(cat.sample(&mut rng));
            }
            s
        })
    });
    g.bench_function("gumbel_max_pass", |b| {
        b.iter(|| gumbel_max(black_box(&x), &p, &mut rng).unwrap())
    });
    g.finish();

    let rows: Vec<f32> = (0..64).flat_map(|r| logits("peaked", r)).collect();
    let mut g = c.benchmark_group("sampling/batch64");
    g.bench_function("threads", |b| {
        b.iter(|| chain.sample_rows(black_box(&rows), N, 9).unwrap())
    });
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("one_thread", |b| {
        b.iter(|| one.install(|| chain.sample_rows(black_box(&rows), N, 9).unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
