//! `boltzmax qlearn`: tabular Q-learning / SARSA / expected SARSA on
//! FrozenLake or CliffWalking, over several seeds in parallel, scoring
//! each learned greedy policy by its exact value (dynamic programming).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use boltzmax::learn::rl::bandit::Schedule;
use boltzmax::learn::rl::stream_rng;
use boltzmax::learn::rl::tabular::{
    Algorithm, Exploration, FROZEN_LAKE_4X4, FROZEN_LAKE_8X8, Mdp, TrainConfig, Training, dp, train,
};
use rayon::prelude::*;
use serde_json::json;

use crate::bandit::{Series, draw_curves, progress_bar};
use crate::table::{number, write_atomically};

/// The environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvName {
    /// FrozenLake-v1, 4x4 map (time limit 100).
    #[value(name = "frozenlake4x4")]
    FrozenLake4x4,
    /// FrozenLake-v1, 8x8 map (time limit 200).
    #[value(name = "frozenlake8x8")]
    FrozenLake8x8,
    /// CliffWalking (no time limit in gymnasium; 1000 here).
    Cliff,
}

/// The TD target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlgName {
    /// Q-learning.
    #[value(name = "q")]
    QLearning,
    /// SARSA.
    Sarsa,
    /// Expected SARSA.
    #[value(name = "expected-sarsa")]
    ExpectedSarsa,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable summary.
    Text,
    /// One JSON object.
    Json,
    /// The learning curves (exact greedy score per evaluation) as CSV.
    Csv,
}

/// Options of `boltzmax qlearn`.
#[derive(Debug, clap::Args)]
pub struct QlearnArgs {
    /// The environment.
    #[arg(long, value_enum, default_value = "frozenlake4x4")]
    pub env: EnvName,
    /// Slippery ice (FrozenLake): intended or perpendicular move, 1/3 each.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub slippery: bool,
    /// The TD target.
    #[arg(long, value_enum, default_value = "q")]
    pub algorithm: AlgName,
    /// Exploration: boltzmann:T=0.1 (fixed), boltzmann:T0=1,T1=0.01
    /// (geometric over the episodes), egreedy:eps=0.1, egreedy:eps0=1,eps1=0.01.
    #[arg(long, short, default_value = "boltzmann:T0=1,T1=0.01")]
    pub policy: String,
    /// Episodes per seed.
    #[arg(long, default_value_t = 10_000)]
    pub episodes: usize,
    /// Step size.
    #[arg(long, default_value_t = 0.1)]
    pub alpha: f64,
    /// Discount.
    #[arg(long, default_value_t = 0.99)]
    pub gamma: f64,
    /// Actions per episode (default: gymnasium's limit, 100 / 200, or 1000).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// First seed; seeds `seed..seed+seeds` run in parallel.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of seeds.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Score the greedy policy exactly every N episodes (learning curve).
    #[arg(long, default_value_t = 100)]
    pub eval_every: usize,
    /// Learning curve plot (.svg or .png): mean exact score, min-max band.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the output to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_exploration(spec: &str, episodes: usize) -> Result<Exploration> {
    let (name, rest) = spec.split_once(':').unwrap_or((spec, ""));
    let mut kv = std::collections::BTreeMap::new();
    for part in rest.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .with_context(|| format!("--policy {spec:?}: expected key=value, got {part:?}"))?;
        let v: f64 = v
            .parse()
            .with_context(|| format!("--policy {spec:?}: {k}={v:?} is not a number"))?;
        kv.insert(k.to_string(), v);
    }
    let (fixed, start, end) = match name {
        "boltzmann" | "softmax" => ("T", "T0", "T1"),
        "egreedy" => ("eps", "eps0", "eps1"),
        _ => bail!("--policy {spec:?}: unknown policy {name:?} (expected boltzmann or egreedy)"),
    };
    for k in kv.keys() {
        if ![fixed, start, end].contains(&k.as_str()) {
            bail!("--policy {spec:?}: unknown parameter {k:?}");
        }
    }
    let schedule = match (kv.get(fixed), kv.get(start), kv.get(end)) {
        (Some(&v), None, None) => {
            let s = Schedule::Constant(v);
            if name == "egreedy" {
                if !(0.0..=1.0).contains(&v) {
                    bail!("--policy {spec:?}: eps must be in [0, 1], got {v}");
                }
            } else {
                s.validate().with_context(|| format!("--policy {spec:?}"))?;
            }
            s
        }
        (None, Some(&a), Some(&b)) => Schedule::geometric(a, b, episodes as u64)
            .with_context(|| format!("--policy {spec:?}"))?,
        _ => bail!("--policy {spec:?}: give {fixed}= or both {start}= and {end}="),
    };
    Ok(if name == "egreedy" {
        Exploration::EpsilonGreedy(schedule)
    } else {
        Exploration::Boltzmann(schedule)
    })
}

/// Runs `boltzmax qlearn`.
pub fn run(args: QlearnArgs) -> Result<()> {
    let (mdp, limit, name) = match args.env {
        EnvName::FrozenLake4x4 => (
            Mdp::frozen_lake(&FROZEN_LAKE_4X4, args.slippery)?,
            100,
            "FrozenLake 4x4",
        ),
        EnvName::FrozenLake8x8 => (
            Mdp::frozen_lake(&FROZEN_LAKE_8X8, args.slippery)?,
            200,
            "FrozenLake 8x8",
        ),
        EnvName::Cliff => (Mdp::cliff_walking(), 1000, "CliffWalking"),
    };
    let horizon = args.max_steps.unwrap_or(limit);
    if args.episodes == 0 || args.seeds == 0 || horizon == 0 {
        bail!("--episodes, --seeds and --max-steps must be at least 1");
    }
    let cfg = TrainConfig {
        algorithm: match args.algorithm {
            AlgName::QLearning => Algorithm::QLearning,
            AlgName::Sarsa => Algorithm::Sarsa,
            AlgName::ExpectedSarsa => Algorithm::ExpectedSarsa,
        },
        exploration: parse_exploration(&args.policy, args.episodes)?,
        alpha: args.alpha,
        gamma: args.gamma,
        episodes: args.episodes,
        max_steps: horizon,
        q0: 0.0,
        eval_every: args.eval_every,
        eval_horizon: horizon,
    };
    // Validate once before starting the parallel runs.
    train(
        &mdp,
        &TrainConfig {
            episodes: 0,
            ..cfg.clone()
        },
        &mut stream_rng(0, 0),
    )
    .context("training parameters")?;
    let bar = progress_bar(args.seeds as u64, "seeds");
    let runs: Vec<Training> = (0..args.seeds)
        .into_par_iter()
        .map(|i| {
            let r = train(&mdp, &cfg, &mut stream_rng(args.seed + i as u64, 0));
            bar.inc(1);
            r
        })
        .collect::<boltzmax::Result<_>>()?;
    bar.finish_and_clear();

    // References: the optimum over all (non-stationary) policies within
    // the horizon, and the greedy policy of exact discounted values.
    let upper = dp::horizon_optimal(&mdp, horizon)[mdp.start()];
    let (_, q_star) = dp::value_iteration(&mdp, args.gamma.min(0.999_999), 1e-13);
    let reference = dp::horizon_values(&mdp, &dp::greedy(&mdp, &q_star), horizon)[mdp.start()];
    let what = if matches!(args.env, EnvName::Cliff) {
        "expected return"
    } else {
        "success probability"
    };

    if let Some(path) = &args.plot {
        let x: Vec<f64> = runs[0].scores.iter().map(|s| s.0 as f64).collect();
        let col = |k: usize| runs.iter().map(|r| r.scores[k].1).collect::<Vec<f64>>();
        let n = x.len();
        let series = vec![Series {
            label: format!("{} seeds, {}", args.seeds, args.policy),
            x,
            mean: (0..n)
                .map(|k| col(k).iter().sum::<f64>() / args.seeds as f64)
                .collect(),
            lo: (0..n)
                .map(|k| col(k).iter().copied().fold(f64::INFINITY, f64::min))
                .collect(),
            hi: (0..n)
                .map(|k| col(k).iter().copied().fold(f64::NEG_INFINITY, f64::max))
                .collect(),
        }];
        let title = format!("{name}: exact {horizon}-step {what} of the greedy policy");
        draw_curves(path, &title, "episode", what, &series, false)?;
    }

    let finals: Vec<f64> = runs.iter().map(Training::final_score).collect();
    let text = match args.format {
        Format::Text => {
            let mut s = format!(
                "{name}{}, {:?}, {}, alpha {}, gamma {}, {} episodes, horizon {horizon}\n",
                if matches!(args.env, EnvName::Cliff) {
                    ""
                } else if args.slippery {
                    " (slippery)"
                } else {
                    " (not slippery)"
                },
                args.algorithm,
                args.policy,
                args.alpha,
                args.gamma,
                args.episodes
            );
            s += &format!("exact {horizon}-step {what} of the final greedy policy:\n");
            for (i, f) in finals.iter().enumerate() {
                s += &format!("  seed {:>4}: {}\n", args.seed + i as u64, number(*f));
            }
            s += &format!(
                "reference: greedy policy of exact Q (gamma {}): {}; best over all policies within the horizon: {}\n",
                args.gamma,
                number(reference),
                number(upper)
            );
            if let (1, w) = (args.seeds, mdp.width())
                && w > 0
            {
                s += "greedy policy (< v > ^; H hole/cliff or terminal):\n";
                s += &draw_policy(&mdp, &dp::greedy(&mdp, &runs[0].q), args.env);
            }
            s
        }
        Format::Json => {
            let v = json!({
                "env": name,
                "slippery": args.slippery,
                "algorithm": format!("{:?}", args.algorithm),
                "policy": args.policy,
                "episodes": args.episodes,
                "horizon": horizon,
                "seeds": (0..args.seeds).map(|i| args.seed + i as u64).collect::<Vec<_>>(),
                "final_scores": finals,
                "reference_greedy_exact_q": reference,
                "optimal_within_horizon": upper,
                "curves": runs.iter().map(|r| r.scores.iter().map(|s| json!([s.0, s.1])).collect::<Vec<_>>()).collect::<Vec<_>>(),
            });
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        Format::Csv => {
            let mut s = String::from("seed,episode,score\n");
            for (i, r) in runs.iter().enumerate() {
                for (e, v) in &r.scores {
                    s += &format!("{},{e},{}\n", args.seed + i as u64, number(*v));
                }
            }
            s
        }
    };
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes()),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("stdout"),
            }
        }
    }
}

/// The greedy policy as arrows on the grid.
fn draw_policy(mdp: &Mdp, pi: &[usize], env: EnvName) -> String {
    let arrows: [char; 4] = if matches!(env, EnvName::Cliff) {
        ['^', '>', 'v', '<']
    } else {
        ['<', 'v', '>', '^']
    };
    let w = mdp.width();
    let mut s = String::new();
    for row in 0..mdp.n_states() / w {
        s += "  ";
        for c in 0..w {
            let st = row * w + c;
            let cliff = matches!(env, EnvName::Cliff) && st > 36 && st < 47;
            s.push(if mdp.is_terminal(st) || cliff {
                'H'
            } else {
                arrows[pi[st]]
            });
        }
        s.push('\n');
    }
    s
}
