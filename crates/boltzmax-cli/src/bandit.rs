//! `boltzmax bandit`: simulate bandit policies over many runs and report
//! regret, reward and the fraction of optimal pulls, with a plot of the
//! mean regret and its confidence band.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use boltzmax::learn::rl::bandit::{
    BernoulliBandit, Curves, GaussianBandit, PolicySpec, Simulation,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::plot::{ImageFormat, image_format, register_fonts};
use crate::table::{number, write_atomically};

/// The reward distribution of the arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvKind {
    /// Sutton and Barto's testbed: means drawn per run from N(0, 1),
    /// rewards N(mean, 1).
    Testbed,
    /// Bernoulli rewards with the given --means.
    Bernoulli,
    /// Gaussian rewards with the given --means and --sd.
    Gaussian,
}

/// The curve a plot shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    /// Cumulative expected regret.
    Regret,
    /// Mean reward at each step.
    Reward,
    /// Percentage of runs pulling an optimal arm at each step.
    Optimal,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable summary table.
    Text,
    /// One JSON object: the summary and the (thinned) curves.
    Json,
    /// The (thinned) per-step curves as CSV.
    Csv,
}

/// Options of `boltzmax bandit`.
#[derive(Debug, clap::Args)]
pub struct BanditArgs {
    /// Policy spec, repeatable: boltzmann:T=0.1, boltzmann-log:T0=1,
    /// boltzmann-exp:T0=1,decay=0.999,min=0.01, bge:C=0.5, exp3:gamma=0.1,
    /// gradient:alpha=0.1, egreedy:eps=0.1, ucb:c=2, thompson,
    /// thompson-gauss:sigma=1 (value-based ones also take q0= and step=).
    #[arg(long = "policy", short, value_name = "SPEC", required = true)]
    pub policies: Vec<String>,
    /// The environment.
    #[arg(long, value_enum, default_value = "testbed")]
    pub env: EnvKind,
    /// Arm means, comma-separated (bernoulli and gaussian).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub means: Vec<f64>,
    /// Number of arms of the testbed.
    #[arg(long, default_value_t = 10)]
    pub arms: usize,
    /// Reward standard deviation (gaussian).
    #[arg(long, default_value_t = 1.0)]
    pub sd: f64,
    /// Independent runs per policy.
    #[arg(long, default_value_t = 2000)]
    pub runs: usize,
    /// Steps per run.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Master seed (results do not depend on the number of threads).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Draw the mean curve of --metric with a 95% band (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// What --plot shows.
    #[arg(long, value_enum, default_value = "regret")]
    pub metric: Metric,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the output to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep every Nth step in CSV/JSON curves (default: at most 1000 rows).
    #[arg(long, value_name = "N")]
    pub every: Option<usize>,
}

/// A curve with a band, for [`draw_curves`].
pub struct Series {
    /// Legend label.
    pub label: String,
    /// x values.
    pub x: Vec<f64>,
    /// Mean.
    pub mean: Vec<f64>,
    /// Band below and above the mean.
    pub lo: Vec<f64>,
    /// Upper edge of the band.
    pub hi: Vec<f64>,
}

const COLORS: [(u8, u8, u8); 8] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
];

/// Draws lines with shaded bands to `path` (.svg or .png), through a
/// temporary file renamed at the end (no partial image on error). The
/// legend goes top left when `legend_top`, else bottom right.
pub fn draw_curves(
    path: &Path,
    title: &str,
    xdesc: &str,
    ydesc: &str,
    series: &[Series],
    legend_top: bool,
) -> Result<()> {
    register_fonts();
    let format = image_format(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ext = if format == ImageFormat::Png {
        "png"
    } else {
        "svg"
    };
    let tmp = dir.join(format!(".{name}.tmp{}.{ext}", std::process::id()));
    let size = (720u32, 450u32);
    let result = match format {
        ImageFormat::Png => draw_on(
            plotters::prelude::BitMapBackend::new(&tmp, size),
            title,
            xdesc,
            ydesc,
            series,
            legend_top,
        ),
        ImageFormat::Svg => draw_on(
            plotters::prelude::SVGBackend::new(&tmp, size),
            title,
            xdesc,
            ydesc,
            series,
            legend_top,
        ),
    };
    if let Err(e) = result.and_then(|()| std::fs::rename(&tmp, path).map_err(Into::into)) {
        let _ = std::fs::remove_file(&tmp);
        bail!("{}: cannot draw the plot: {e}", path.display());
    }
    Ok(())
}

fn draw_on<DB: plotters::prelude::DrawingBackend>(
    backend: DB,
    title: &str,
    xdesc: &str,
    ydesc: &str,
    series: &[Series],
    legend_top: bool,
) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Debug| anyhow::anyhow!("{e:?}");
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let fold = |f: fn(f64, f64) -> f64, init: f64, pick: &dyn Fn(&Series) -> &Vec<f64>| {
        series
            .iter()
            .flat_map(|s| pick(s).iter().copied())
            .filter(|v| v.is_finite())
            .fold(init, f)
    };
    let xmax = fold(f64::max, f64::NEG_INFINITY, &|s| &s.x);
    let xmin = fold(f64::min, f64::INFINITY, &|s| &s.x);
    let ymax = fold(f64::max, f64::NEG_INFINITY, &|s| &s.hi);
    let ymin = fold(f64::min, f64::INFINITY, &|s| &s.lo);
    let pad = ((ymax - ymin) * 0.05).max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xmin..xmax.max(xmin + 1.0), (ymin - pad)..(ymax + pad))
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(xdesc)
        .y_desc(ydesc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(|e| err(&e))?;
    for (i, s) in series.iter().enumerate() {
        let (r, g, b) = COLORS[i % COLORS.len()];
        let color = RGBColor(r, g, b);
        let band: Vec<(f64, f64)> =
            s.x.iter()
                .zip(&s.hi)
                .map(|(&x, &y)| (x, y))
                .chain(s.x.iter().zip(&s.lo).rev().map(|(&x, &y)| (x, y)))
                .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(
                s.x.iter().zip(&s.mean).map(|(&x, &y)| (x, y)),
                color.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(if legend_top {
            SeriesLabelPosition::UpperLeft
        } else {
            SeriesLabelPosition::LowerRight
        })
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} [{{elapsed}}<{{eta}}]"
        ))
        .expect("static template"),
    );
    bar
}

/// Runs `boltzmax bandit`.
pub fn run(args: BanditArgs) -> Result<()> {
    let specs: Vec<PolicySpec> = args
        .policies
        .iter()
        .map(|s| s.parse().with_context(|| format!("--policy {s:?}")))
        .collect::<Result<_>>()?;
    let n_arms = match args.env {
        EnvKind::Testbed => args.arms,
        _ => {
            if args.means.is_empty() {
                bail!(
                    "--env {:?} needs --means (comma-separated arm means)",
                    args.env
                );
            }
            args.means.len()
        }
    };
    // Validate everything before the (possibly long) simulation.
    match args.env {
        EnvKind::Bernoulli => {
            BernoulliBandit::new(args.means.clone()).context("--means")?;
        }
        EnvKind::Gaussian => {
            GaussianBandit::new(args.means.clone(), args.sd).context("--means/--sd")?;
        }
        EnvKind::Testbed => {
            if args.arms == 0 {
                bail!("--arms must be at least 1, got 0");
            }
        }
    }
    for (s, text) in specs.iter().zip(&args.policies) {
        s.build(n_arms)
            .with_context(|| format!("--policy {text:?}"))?;
    }
    let sim = Simulation::new(args.runs, args.steps, args.seed).context("--runs/--steps")?;
    let bar = progress_bar((args.runs * specs.len()) as u64, "runs");
    let mut results = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let t0 = Instant::now();
        let offset = (i * args.runs) as u64;
        let progress = |done: usize| bar.set_position(offset + done as u64);
        let curves = match args.env {
            EnvKind::Testbed => sim.run_with_progress(
                || spec.build(n_arms),
                |rng| GaussianBandit::testbed(n_arms, 0.0, rng),
                &progress,
            ),
            EnvKind::Bernoulli => sim.run_with_progress(
                || spec.build(n_arms),
                |_| BernoulliBandit::new(args.means.clone()),
                &progress,
            ),
            EnvKind::Gaussian => sim.run_with_progress(
                || spec.build(n_arms),
                |_| GaussianBandit::new(args.means.clone(), args.sd),
                &progress,
            ),
        }?;
        results.push((spec.to_string(), curves, t0.elapsed().as_secs_f64()));
    }
    bar.finish_and_clear();

    let every = args.every.unwrap_or(args.steps.div_ceil(1000)).max(1);
    if let Some(path) = &args.plot {
        // At most about 1000 points per curve keeps the SVG small.
        let keep = thinned(args.steps, args.steps.div_ceil(1000));
        let x: Vec<f64> = keep.iter().map(|&t| (t + 1) as f64).collect();
        let series: Vec<Series> = results
            .iter()
            .map(|(label, c, _)| {
                let n = c.runs as f64;
                let (m, se): (Vec<f64>, Vec<f64>) = keep
                    .iter()
                    .map(|&t| match args.metric {
                        Metric::Regret => (c.mean_regret[t], c.regret_stderr(t)),
                        Metric::Reward => (c.mean_reward[t], c.reward_stderr(t)),
                        Metric::Optimal => {
                            let p = c.optimal_fraction[t];
                            (100.0 * p, 100.0 * (p * (1.0 - p) / n).sqrt())
                        }
                    })
                    .unzip();
                Series {
                    label: label.clone(),
                    x: x.clone(),
                    lo: m.iter().zip(&se).map(|(m, s)| m - 1.96 * s).collect(),
                    hi: m.iter().zip(&se).map(|(m, s)| m + 1.96 * s).collect(),
                    mean: m,
                }
            })
            .collect();
        let what = match args.metric {
            Metric::Regret => "cumulative regret",
            Metric::Reward => "average reward",
            Metric::Optimal => "% optimal action",
        };
        let title = format!(
            "{:?} bandit, {} arms, {} runs: {what}, mean and 95% band",
            args.env, n_arms, args.runs
        );
        draw_curves(
            path,
            &title,
            "step",
            what,
            &series,
            args.metric == Metric::Regret,
        )?;
    }

    let text = match args.format {
        Format::Text => summary_text(&args, n_arms, &results),
        Format::Json => {
            let policies: Vec<serde_json::Value> = results
                .iter()
                .map(|(label, c, secs)| {
                    let t = args.steps - 1;
                    let steps: Vec<usize> = thinned(args.steps, every);
                    json!({
                        "policy": label,
                        "seconds": secs,
                        "final": {
                            "regret": c.mean_regret[t],
                            "regret_stderr": c.regret_stderr(t),
                            "reward": c.mean_reward[t],
                            "reward_stderr": c.reward_stderr(t),
                            "optimal_fraction": c.optimal_fraction[t],
                        },
                        "curves": {
                            "step": steps.iter().map(|&t| t + 1).collect::<Vec<_>>(),
                            "mean_reward": steps.iter().map(|&t| c.mean_reward[t]).collect::<Vec<_>>(),
                            "optimal_fraction": steps.iter().map(|&t| c.optimal_fraction[t]).collect::<Vec<_>>(),
                            "mean_regret": steps.iter().map(|&t| c.mean_regret[t]).collect::<Vec<_>>(),
                            "regret_stderr": steps.iter().map(|&t| c.regret_stderr(t)).collect::<Vec<_>>(),
                        }
                    })
                })
                .collect();
            let v = json!({
                "env": format!("{:?}", args.env).to_lowercase(),
                "arms": n_arms,
                "means": if args.env == EnvKind::Testbed { serde_json::Value::Null } else { json!(args.means) },
                "runs": args.runs,
                "steps": args.steps,
                "seed": args.seed,
                "policies": policies,
            });
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        Format::Csv => {
            let mut s = String::from(
                "policy,step,mean_reward,reward_stderr,optimal_fraction,mean_regret,regret_stderr\n",
            );
            for (label, c, _) in &results {
                for t in thinned(args.steps, every) {
                    s += &format!(
                        "\"{label}\",{},{},{},{},{},{}\n",
                        t + 1,
                        number(c.mean_reward[t]),
                        number(c.reward_stderr(t)),
                        number(c.optimal_fraction[t]),
                        number(c.mean_regret[t]),
                        number(c.regret_stderr(t)),
                    );
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

/// Step indices kept: every `every`th, and always the last.
fn thinned(steps: usize, every: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (every - 1..steps).step_by(every).collect();
    if v.last() != Some(&(steps - 1)) {
        v.push(steps - 1);
    }
    v
}

fn summary_text(args: &BanditArgs, n_arms: usize, results: &[(String, Curves, f64)]) -> String {
    let t = args.steps - 1;
    let mut s = format!(
        "{:?} bandit, {} arms, {} runs x {} steps, seed {}\n",
        args.env, n_arms, args.runs, args.steps, args.seed
    );
    s += &format!(
        "{:<34} {:>22} {:>18} {:>16} {:>9}\n",
        "policy",
        format!("regret@{}", args.steps),
        format!("reward@{}", args.steps),
        "% optimal",
        "seconds"
    );
    for (label, c, secs) in results {
        let p = c.optimal_fraction[t];
        s += &format!(
            "{:<34} {:>12.2} ± {:<7.2} {:>8.4} ± {:<7.4} {:>6.1} ± {:<7.1} {:>9.3}\n",
            label,
            c.mean_regret[t],
            c.regret_stderr(t),
            c.mean_reward[t],
            c.reward_stderr(t),
            100.0 * p,
            100.0 * (p * (1.0 - p) / c.runs as f64).sqrt(),
            secs
        );
    }
    s += "(± one standard error over runs; regret is the expected (pseudo-)regret)\n";
    s
}
