//! Bandit policies: one online select + update on 10 arms (reward = the
//! arm's mean, so the policy alone is timed), and the full 10-armed
//! testbed (2000 runs x 1000 steps) on rayon's default pool.
//!
//! cargo bench -p boltzmax --bench rl
//!
//! The mabwiser and numpy peers are timed by benches/peers/bandit_peers.py.

use std::time::Duration;

use boltzmax::learn::rl::bandit::{GaussianBandit, Policy, PolicySpec, Simulation};
use boltzmax::learn::rl::stream_rng;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SPECS: [&str; 9] = [
    "boltzmann:T=0.1",
    "boltzmann-log:T0=1",
    "bge:C=0.5",
    "exp3:gamma=0.1",
    "gradient:alpha=0.1",
    "egreedy:eps=0.1",
    "ucb:c=2",
    "thompson",
    "thompson-gauss",
];

fn online(c: &mut Criterion) {
    let means: Vec<f64> = (0..10).map(|k| 0.9 - 0.05 * k as f64).collect();
    let mut g = c.benchmark_group("bandit_online_step_10_arms");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(2));
    for s in SPECS {
        let mut p = s.parse::<PolicySpec>().unwrap().build(10).unwrap();
        let mut rng = stream_rng(1, 0);
        g.bench_function(s, |b| {
            b.iter(|| {
                let a = p.select(&mut rng);
                p.update(a, means[a]);
                a
            })
        });
    }
    g.finish();
}

fn testbed(c: &mut Criterion) {
    let mut g = c.benchmark_group("testbed_2000x1000");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(2_000_000));
    let sim = Simulation::new(2000, 1000, 1).unwrap();
    for s in ["boltzmann:T=0.1", "egreedy:eps=0.1", "ucb:c=2", "bge:C=0.5"] {
        let spec: PolicySpec = s.parse().unwrap();
        g.bench_function(s, |b| {
            b.iter(|| {
                sim.run(
                    || spec.build(10),
                    |rng| GaussianBandit::testbed(10, 0.0, rng),
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, online, testbed);
criterion_main!(benches);
