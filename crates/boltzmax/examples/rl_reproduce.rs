//! Reproduces the bandit experiments of docs/rl.md and prints the values
//! next to the published ones.
//!
//! ```text
//! cargo run -p boltzmax --release --example rl_reproduce [testbed|bernoulli|all] [--csv DIR]
//! ```
//!
//! With `--csv DIR` it also writes the per-step curves (one CSV per
//! experiment) that the figures in docs/rl.md are drawn from.

use std::time::Instant;

use boltzmax::learn::rl::bandit::{
    BernoulliBandit, Curves, GaussianBandit, PolicySpec, Simulation,
};

fn testbed(spec: &str) -> (Curves, f64) {
    let spec: PolicySpec = spec.parse().unwrap();
    let sim = Simulation::new(2000, 1000, 2024).unwrap();
    let t = Instant::now();
    let c = sim
        .run(
            || spec.build(10),
            |rng| GaussianBandit::testbed(10, 0.0, rng),
        )
        .unwrap();
    (c, t.elapsed().as_secs_f64())
}

fn bernoulli(spec: &str) -> (Curves, f64) {
    let spec: PolicySpec = spec.parse().unwrap();
    let means: Vec<f64> = (0..10).map(|k| 0.9 - 0.05 * k as f64).collect();
    let sim = Simulation::new(200, 10_000, 2024).unwrap();
    let t = Instant::now();
    let c = sim
        .run(|| spec.build(10), |_| BernoulliBandit::new(means.clone()))
        .unwrap();
    (c, t.elapsed().as_secs_f64())
}

fn write_csv(dir: &str, name: &str, labels: &[&str], curves: &[Curves]) {
    use std::fmt::Write;
    let mut s = String::from("step");
    for l in labels {
        write!(
            s,
            ",{l} reward,{l} reward sd,{l} optimal,{l} regret,{l} regret sd"
        )
        .unwrap();
    }
    s.push('\n');
    for t in 0..curves[0].mean_reward.len() {
        write!(s, "{}", t + 1).unwrap();
        for c in curves {
            write!(
                s,
                ",{},{},{},{},{}",
                c.mean_reward[t],
                c.sd_reward[t],
                c.optimal_fraction[t],
                c.mean_regret[t],
                c.sd_regret[t]
            )
            .unwrap();
        }
        s.push('\n');
    }
    std::fs::write(format!("{dir}/{name}.csv"), s).unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let csv = args
        .iter()
        .position(|a| a == "--csv")
        .map(|i| args[i + 1].clone());
    if which == "testbed" || which == "all" {
        println!("10-armed testbed, 2000 runs x 1000 steps, seed 2024");
        println!(
            "{:<28} {:>16} {:>8} {:>16} {:>8}",
            "policy", "reward@1000", "book", "%opt@1000", "time s"
        );
        let rows = [
            ("egreedy:eps=0.1", 1.38),
            ("boltzmann:T=0.1", 1.28),
            ("boltzmann:T=0.25", 1.46),
            ("boltzmann:T=0.5", 1.24),
            ("ucb:c=2", 1.48),
            ("gradient:alpha=0.1,baseline=1", 1.50),
        ];
        let mut all = Vec::new();
        for (spec, book) in rows {
            let (c, secs) = testbed(spec);
            let t = 999;
            println!(
                "{:<28} {:>8.3} ± {:.3} {:>8.2} {:>8.1} ± {:.1} {:>8.3}",
                spec,
                c.mean_reward[t],
                c.reward_stderr(t),
                book,
                100.0 * c.optimal_fraction[t],
                100.0
                    * (c.optimal_fraction[t] * (1.0 - c.optimal_fraction[t]) / c.runs as f64)
                        .sqrt(),
                secs
            );
            all.push(c);
        }
        if let Some(dir) = &csv {
            let labels: Vec<&str> = rows.iter().map(|r| r.0).collect();
            write_csv(dir, "testbed", &labels, &all);
        }
    }
    if which == "bernoulli" || which == "all" {
        println!("Bernoulli arms 0.9 - 0.05k, 200 runs x 10000 steps, seed 2024");
        println!(
            "{:<28} {:>18} {:>8} {:>8}",
            "policy", "regret@10000", "ref", "time s"
        );
        let rows = [
            ("boltzmann:T=0.1", 665.0),
            ("boltzmann-log:T0=1", 865.0),
            ("bge:C=1", 630.0),
            ("bge:C=0.5", 284.0),
            ("ucb:c=1.4142135623730951", 487.0),
            ("thompson", 66.0),
        ];
        let mut all = Vec::new();
        for (spec, r) in rows {
            let (c, secs) = bernoulli(spec);
            let t = c.mean_regret.len() - 1;
            println!(
                "{:<28} {:>9.1} ± {:>5.1} {:>8.0} {:>8.3}",
                spec,
                c.mean_regret[t],
                c.regret_stderr(t),
                r,
                secs
            );
            all.push(c);
        }
        if let Some(dir) = &csv {
            let labels: Vec<&str> = rows.iter().map(|r| r.0).collect();
            write_csv(dir, "bernoulli", &labels, &all);
        }
    }
}
