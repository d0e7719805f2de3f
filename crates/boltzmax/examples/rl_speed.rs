//! Timing of the bandit policies, printed as JSON for
//! `benches/peers/bandit_peers.py` (which runs the peers in the same
//! session and reports ratios).
//!
//! ```text
//! cargo run -p boltzmax --release --example rl_speed
//! ```
//!
//! `online_ns`: median over 7 repetitions of the time of one `select` +
//! `update` on 10 arms (reward = the chosen arm's mean, so the policy alone
//! is timed). `testbed_s` / `testbed_min_s`: median / minimum over 5
//! repetitions of the full 10-armed testbed, 2000 runs x 1000 steps, on
//! all cores (rayon's default pool); `testbed_1thread_s` /
//! `testbed_1thread_min_s` the same on one thread. On a shared machine
//! the minimum is the figure least disturbed by other work.
//!
//! Policy specs given as arguments (`rl_speed thompson`) time only those.

use std::time::Instant;

use boltzmax::learn::rl::bandit::{GaussianBandit, Policy, PolicySpec, Simulation};
use boltzmax::learn::rl::stream_rng;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let specs = [
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
    let means: Vec<f64> = (0..10).map(|k| 0.9 - 0.05 * k as f64).collect();
    let threads = rayon::current_num_threads();
    let mut rows = Vec::new();
    let only: Vec<String> = std::env::args().skip(1).collect();
    for s in specs {
        if !only.is_empty() && !only.iter().any(|o| o == s) {
            continue;
        }
        let spec: PolicySpec = s.parse().unwrap();
        let n = 200_000;
        let mut reps = Vec::new();
        for rep in 0..7 {
            let mut p = spec.build(10).unwrap();
            let mut rng = stream_rng(rep, 0);
            let t = Instant::now();
            let mut acc = 0usize;
            for _ in 0..n {
                let a = p.select(&mut rng);
                p.update(a, means[a]);
                acc += a;
            }
            let dt = t.elapsed().as_secs_f64();
            std::hint::black_box(acc);
            reps.push(dt / n as f64 * 1e9);
        }
        let online = median(reps);
        let sim = Simulation::new(2000, 1000, 1).unwrap();
        let time_testbed = |pool: Option<&rayon::ThreadPool>| {
            let mut reps = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                let go = || {
                    sim.run(
                        || spec.build(10),
                        |rng| GaussianBandit::testbed(10, 0.0, rng),
                    )
                    .unwrap()
                };
                let c = match pool {
                    Some(p) => p.install(go),
                    None => go(),
                };
                std::hint::black_box(c);
                reps.push(t.elapsed().as_secs_f64());
            }
            let min = reps.iter().copied().fold(f64::INFINITY, f64::min);
            (median(reps), min)
        };
        let (all, all_min) = time_testbed(None);
        let one_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (one, one_min) = time_testbed(Some(&one_pool));
        rows.push(format!(
            "{{\"policy\": \"{s}\", \"online_ns\": {online:.1}, \"testbed_s\": {all:.4}, \"testbed_min_s\": {all_min:.4}, \"testbed_1thread_s\": {one:.4}, \"testbed_1thread_min_s\": {one_min:.4}}}"
        ));
    }
    println!(
        "{{\"threads\": {threads}, \"results\": [\n  {}\n]}}",
        rows.join(",\n  ")
    );
}
