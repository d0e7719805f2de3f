//! Ising Metropolis sweeps at L = 1024, T = T_c: the plain checkerboard
//! loop and the multi-spin-coded sweep in the same run, from the same
//! configuration, with throughput in spin updates per second.
//!
//! cargo bench -p boltzmax --bench ising

use boltzmax::learn::ising::exact::critical_temperature;
use boltzmax::learn::ising::{Algorithm, Model, PackedLattice, Sweeper};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let l = 1024;
    let model = Model::new(1.0, 0.0, critical_temperature(1.0).unwrap()).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    // A critical-looking configuration: start random, relax 300 sweeps.
    let start = boltzmax::learn::ising::Lattice::random(l, &mut rng).unwrap();
    let mut packed = PackedLattice::from_lattice(&start).unwrap();
    let table = packed.metropolis_table(&model).unwrap();
    for _ in 0..300 {
        packed.metropolis_sweep(&table, &mut rng);
    }
    let relaxed = packed.to_lattice();

    let mut g = c.benchmark_group("ising_metropolis_L1024_Tc");
    g.throughput(Throughput::Elements((l * l) as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    let sweeper = Sweeper::new(Algorithm::Metropolis, model).unwrap();
    let mut plain = relaxed.clone();
    let mut rng_a = Xoshiro256PlusPlus::seed_from_u64(2);
    g.bench_function("plain_checkerboard", |b| {
        b.iter(|| sweeper.sweep(&mut plain, &mut rng_a))
    });
    let mut rng_b = Xoshiro256PlusPlus::seed_from_u64(3);
    g.bench_function("multispin", |b| {
        b.iter(|| packed.metropolis_sweep(&table, &mut rng_b))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
