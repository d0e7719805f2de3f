//! `boltzmax ising`: Monte Carlo of the 2-d Ising model at one temperature
//! or over a range, with error bars and the exact values beside them, a
//! plot of C(T) and |m|(T) against the exact curves, and a lattice
//! snapshot.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use boltzmax::learn::ising::exact::{
    DensityOfStates, critical_temperature, kaufman, spontaneous_magnetization,
};
use boltzmax::learn::ising::{
    Algorithm, Lattice, Observables, RunConfig, parallel_tempering, temperature_sweep,
};
use serde_json::json;

use crate::bandit::progress_bar;
use crate::plot::{ImageFormat, image_format, register_fonts};
use crate::table::number;

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Alg {
    /// Checkerboard Metropolis.
    Metropolis,
    /// Checkerboard heat bath (Glauber).
    HeatBath,
    /// Wolff clusters (h = 0).
    Wolff,
    /// Multi-spin-coded Metropolis (h = 0, L a multiple of 128).
    Multispin,
}

impl From<Alg> for Algorithm {
    fn from(a: Alg) -> Algorithm {
        match a {
            Alg::Metropolis => Algorithm::Metropolis,
            Alg::HeatBath => Algorithm::HeatBath,
            Alg::Wolff => Algorithm::Wolff,
            Alg::Multispin => Algorithm::MultiSpin,
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table.
    Text,
    /// One JSON object.
    Json,
    /// CSV, one row per temperature.
    Csv,
}

/// Options of `boltzmax ising`.
#[derive(Debug, clap::Args)]
pub struct IsingArgs {
    /// Lattice side L (even; a multiple of 128 for multispin).
    #[arg(short = 'L', long = "size", default_value_t = 16)]
    pub l: usize,
    /// Temperature, in units of J (k = 1). Default: Onsager's T_c.
    #[arg(short = 'T', long, allow_hyphen_values = true)]
    pub t: Option<f64>,
    /// A temperature range instead: lowest T.
    #[arg(long, requires_all = ["t_max"], allow_hyphen_values = true)]
    pub t_min: Option<f64>,
    /// Highest T of the range.
    #[arg(long, allow_hyphen_values = true)]
    pub t_max: Option<f64>,
    /// Number of temperatures in the range.
    #[arg(long, default_value_t = 16)]
    pub t_steps: usize,
    /// Coupling J.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub j: f64,
    /// Field h.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub h: f64,
    /// Update rule.
    #[arg(short, long, value_enum, default_value_t = Alg::Wolff)]
    pub algorithm: Alg,
    /// Measured sweeps per temperature.
    #[arg(long, default_value_t = 20_000)]
    pub sweeps: usize,
    /// Sweeps discarded first (default: sweeps / 10).
    #[arg(long)]
    pub thermalize: Option<usize>,
    /// Jackknife blocks for the error bars.
    #[arg(long, default_value_t = 50)]
    pub blocks: usize,
    /// Seed (results do not depend on the thread count).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run the range as parallel tempering (replica exchange) and report
    /// swap rates.
    #[arg(long)]
    pub tempering: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Plot C(T) and |m|(T) with the exact curves (.png or .svg).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Snapshot of the final lattice at the last temperature (.png).
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
}

/// Exact finite-lattice values at one temperature, where known.
struct Exact {
    energy: Option<f64>,
    specific_heat: Option<f64>,
    abs_m: Option<f64>,
}

fn exact_at(args: &IsingArgs, dos: Option<&DensityOfStates>, t: f64) -> Exact {
    if let Some(d) = dos
        && let Ok(th) = d.thermal(args.j, args.h, t)
    {
        return Exact {
            energy: Some(th.energy),
            specific_heat: Some(th.specific_heat),
            abs_m: Some(th.abs_magnetization),
        };
    }
    if args.h == 0.0
        && let Ok(k) = kaufman(args.l, args.l, args.j, t)
    {
        return Exact {
            energy: Some(k.energy),
            specific_heat: Some(k.specific_heat),
            abs_m: None,
        };
    }
    Exact {
        energy: None,
        specific_heat: None,
        abs_m: None,
    }
}

fn temperatures(args: &IsingArgs) -> Result<Vec<f64>> {
    match (args.t_min, args.t_max) {
        (Some(lo), Some(hi)) => {
            if args.t.is_some() {
                bail!("give either -T or --t-min/--t-max, not both");
            }
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && hi >= lo) {
                bail!("--t-min {lo} and --t-max {hi}: need 0 < t-min <= t-max");
            }
            if args.t_steps < 2 && hi > lo {
                bail!("--t-steps {}: need at least 2 for a range", args.t_steps);
            }
            let n = args.t_steps.max(1);
            Ok((0..n)
                .map(|i| {
                    if n == 1 {
                        lo
                    } else {
                        lo + (hi - lo) * i as f64 / (n - 1) as f64
                    }
                })
                .collect())
        }
        _ => Ok(vec![match args.t {
            Some(t) => t,
            None => critical_temperature(args.j.abs().max(f64::MIN_POSITIVE))?,
        }]),
    }
}

/// Runs `boltzmax ising`.
pub fn run(args: IsingArgs) -> Result<()> {
    let temps = temperatures(&args)?;
    for p in [&args.plot, &args.snapshot].into_iter().flatten() {
        image_format(p)?;
    }
    let cfg = RunConfig {
        l: args.l,
        algorithm: args.algorithm.into(),
        thermalize: args.thermalize.unwrap_or(args.sweeps / 10),
        sweeps: args.sweeps,
        blocks: args.blocks,
        seed: args.seed,
    };
    let total =
        ((cfg.thermalize + cfg.sweeps) * if args.tempering { 1 } else { temps.len() }) as u64;
    let bar = progress_bar(total, "ising");
    let inc = |n: u64| bar.inc(n);
    let (obs, swaps, last): (Vec<Observables>, Option<Vec<f64>>, Option<Lattice>) =
        if args.tempering {
            let pt = parallel_tempering(&cfg, args.j, args.h, &temps, &inc)?;
            (pt.observables, Some(pt.swap_rates), None)
        } else {
            let runs = temperature_sweep(&cfg, args.j, args.h, &temps, &inc)?;
            let last = runs.last().map(|r| r.lattice.clone());
            (
                runs.into_iter().map(|r| r.observables).collect(),
                None,
                last,
            )
        };
    bar.finish_and_clear();
    let dos = if args.l * args.l <= 16 {
        DensityOfStates::square(args.l, args.l).ok()
    } else {
        None
    };
    let exact: Vec<Exact> = temps
        .iter()
        .map(|&t| exact_at(&args, dos.as_ref(), t))
        .collect();
    print_results(&args, &obs, &exact, swaps.as_deref())?;
    if let Some(p) = &args.plot {
        plot_curves(p, &args, &obs)?;
    }
    if let Some(p) = &args.snapshot {
        match &last {
            Some(l) => snapshot(p, l)?,
            None => bail!(
                "{}: --snapshot needs a run without --tempering",
                p.display()
            ),
        }
    }
    Ok(())
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.5}"))
}

fn print_results(
    args: &IsingArgs,
    obs: &[Observables],
    exact: &[Exact],
    swaps: Option<&[f64]>,
) -> Result<()> {
    match args.format {
        Format::Text => {
            println!(
                "Ising L={} J={} h={} {} sweeps={} (errors: jackknife over {} blocks; exact: {})",
                args.l,
                args.j,
                args.h,
                Algorithm::from(args.algorithm).name(),
                args.sweeps,
                args.blocks,
                if args.l * args.l <= 16 {
                    "enumeration"
                } else {
                    "Kaufman 1949, finite L"
                }
            );
            println!(
                "{:>8} {:>21} {:>9} {:>19} {:>9} {:>19} {:>9} {:>17} {:>17} {:>7} {:>7}",
                "T",
                "E/N",
                "exact",
                "C/N",
                "exact",
                "|m|",
                "exact",
                "chi",
                "U4",
                "tau_E",
                "tau_|m|"
            );
            for (o, e) in obs.iter().zip(exact) {
                println!(
                    "{:>8.4} {:>10.5} ± {:<8.5} {:>9} {:>8.4} ± {:<8.4} {:>9} {:>8.5} ± {:<8.5} {:>9} {:>8.3} ± {:<6.3} {:>8.4} ± {:<6.4} {:>7.1} {:>7.1}",
                    o.t,
                    o.energy.value,
                    o.energy.error,
                    opt(e.energy),
                    o.specific_heat.value,
                    o.specific_heat.error,
                    opt(e.specific_heat),
                    o.abs_magnetization.value,
                    o.abs_magnetization.error,
                    opt(e.abs_m),
                    o.susceptibility.value,
                    o.susceptibility.error,
                    o.binder.value,
                    o.binder.error,
                    o.tau_energy,
                    o.tau_abs_magnetization
                );
            }
            if let Some(s) = swaps {
                let rates: Vec<String> = s.iter().map(|r| format!("{r:.3}")).collect();
                println!(
                    "swap rates between neighbouring temperatures: {}",
                    rates.join(" ")
                );
            }
        }
        Format::Csv => {
            println!(
                "T,E,E_err,E_exact,C,C_err,C_exact,abs_m,abs_m_err,abs_m_exact,chi,chi_err,binder,binder_err,tau_E,tau_abs_m"
            );
            let o2 = |v: Option<f64>| v.map_or(String::new(), number);
            for (o, e) in obs.iter().zip(exact) {
                println!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    number(o.t),
                    number(o.energy.value),
                    number(o.energy.error),
                    o2(e.energy),
                    number(o.specific_heat.value),
                    number(o.specific_heat.error),
                    o2(e.specific_heat),
                    number(o.abs_magnetization.value),
                    number(o.abs_magnetization.error),
                    o2(e.abs_m),
                    number(o.susceptibility.value),
                    number(o.susceptibility.error),
                    number(o.binder.value),
                    number(o.binder.error),
                    number(o.tau_energy),
                    number(o.tau_abs_magnetization)
                );
            }
        }
        Format::Json => {
            let rows: Vec<_> = obs
                .iter()
                .zip(exact)
                .map(|(o, e)| {
                    json!({
                        "T": o.t,
                        "energy": {"value": o.energy.value, "error": o.energy.error, "exact": e.energy},
                        "specific_heat": {"value": o.specific_heat.value, "error": o.specific_heat.error, "exact": e.specific_heat},
                        "abs_magnetization": {"value": o.abs_magnetization.value, "error": o.abs_magnetization.error, "exact": e.abs_m},
                        "magnetization": {"value": o.magnetization.value, "error": o.magnetization.error},
                        "susceptibility": {"value": o.susceptibility.value, "error": o.susceptibility.error},
                        "binder": {"value": o.binder.value, "error": o.binder.error},
                        "tau_energy": o.tau_energy,
                        "tau_abs_magnetization": o.tau_abs_magnetization,
                        "blocks_long_enough": o.blocks_long_enough(),
                    })
                })
                .collect();
            let out = json!({
                "L": args.l, "J": args.j, "h": args.h,
                "algorithm": Algorithm::from(args.algorithm).name(),
                "sweeps": args.sweeps, "blocks": args.blocks, "seed": args.seed,
                "results": rows,
                "swap_rates": swaps,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}

/// A temporary file in the target's directory (renamed at the end by
/// [`finish`], so that a failure leaves no partial image).
fn tmp_path(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.tmp{}.{ext}", std::process::id()))
}

fn finish(path: &Path, tmp: &Path, result: Result<()>) -> Result<()> {
    if let Err(e) = result.and_then(|()| std::fs::rename(tmp, path).map_err(Into::into)) {
        let _ = std::fs::remove_file(tmp);
        bail!("{}: cannot draw: {e}", path.display());
    }
    Ok(())
}

fn plot_curves(path: &Path, args: &IsingArgs, obs: &[Observables]) -> Result<()> {
    register_fonts();
    let tmp = tmp_path(path);
    let size = (1100u32, 450u32);
    let result = match image_format(path)? {
        ImageFormat::Png => {
            draw_curves(plotters::prelude::BitMapBackend::new(&tmp, size), args, obs)
        }
        ImageFormat::Svg => draw_curves(plotters::prelude::SVGBackend::new(&tmp, size), args, obs),
    };
    finish(path, &tmp, result)
}

fn draw_curves<DB: plotters::prelude::DrawingBackend>(
    backend: DB,
    args: &IsingArgs,
    obs: &[Observables],
) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Debug| anyhow::anyhow!("{e:?}");
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let panels = root.split_evenly((1, 2));
    let tlo = obs.iter().map(|o| o.t).fold(f64::INFINITY, f64::min);
    let thi = obs.iter().map(|o| o.t).fold(f64::NEG_INFINITY, f64::max);
    let (tlo, thi) = if thi > tlo {
        (tlo, thi)
    } else {
        (tlo * 0.9, tlo * 1.1)
    };
    let grid: Vec<f64> = (0..=300)
        .map(|i| tlo + (thi - tlo) * i as f64 / 300.0)
        .collect();
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    let grey = RGBColor(90, 90, 90);
    // Left: C(T).
    let exact_c: Vec<(f64, f64)> = if args.h == 0.0 {
        grid.iter()
            .filter_map(|&t| {
                kaufman(args.l, args.l, args.j, t)
                    .ok()
                    .map(|k| (t, k.specific_heat))
            })
            .collect()
    } else {
        Vec::new()
    };
    let cmax = obs
        .iter()
        .map(|o| o.specific_heat.value + o.specific_heat.error)
        .chain(exact_c.iter().map(|p| p.1))
        .fold(0.0f64, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&panels[0])
        .caption(format!("Specific heat, L = {}", args.l), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(tlo..thi, 0.0..cmax.max(0.1))
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("T / J")
        .y_desc("C / N")
        .draw()
        .map_err(|e| err(&e))?;
    if !exact_c.is_empty() {
        chart
            .draw_series(LineSeries::new(exact_c, blue.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(format!("exact (Kaufman), L = {}", args.l))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2))
            });
    }
    chart
        .draw_series(obs.iter().map(|o| {
            // Error bar: one standard error each way.
            PathElement::new(
                vec![
                    (o.t, o.specific_heat.value - o.specific_heat.error),
                    (o.t, o.specific_heat.value + o.specific_heat.error),
                ],
                orange.stroke_width(2),
            )
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(
            obs.iter()
                .map(|o| Circle::new((o.t, o.specific_heat.value), 3, orange.filled())),
        )
        .map_err(|e| err(&e))?
        .label(format!(
            "Monte Carlo ({})",
            Algorithm::from(args.algorithm).name()
        ))
        .legend(move |(x, y)| Circle::new((x + 10, y), 3, orange.filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| err(&e))?;
    // Right: |m|(T) with Yang's infinite-lattice curve.
    let mut chart = ChartBuilder::on(&panels[1])
        .caption(format!("|m|, L = {}", args.l), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(tlo..thi, 0.0..1.05)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("T / J")
        .y_desc("<|m|>")
        .draw()
        .map_err(|e| err(&e))?;
    if args.h == 0.0 && args.j > 0.0 {
        let yang: Vec<(f64, f64)> = grid
            .iter()
            .filter_map(|&t| spontaneous_magnetization(args.j, t).ok().map(|m| (t, m)))
            .collect();
        chart
            .draw_series(LineSeries::new(yang, grey.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label("exact, infinite lattice (Yang)")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(2))
            });
    }
    chart
        .draw_series(obs.iter().map(|o| {
            // Error bar: one standard error each way.
            PathElement::new(
                vec![
                    (o.t, o.abs_magnetization.value - o.abs_magnetization.error),
                    (o.t, o.abs_magnetization.value + o.abs_magnetization.error),
                ],
                orange.stroke_width(2),
            )
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(
            obs.iter()
                .map(|o| Circle::new((o.t, o.abs_magnetization.value), 3, orange.filled())),
        )
        .map_err(|e| err(&e))?
        .label(format!("Monte Carlo, L = {}", args.l))
        .legend(move |(x, y)| Circle::new((x + 10, y), 3, orange.filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// The lattice as a PNG/SVG image: up spins dark, down spins light, each
/// spin a square of up to 8 pixels.
fn snapshot(path: &Path, lattice: &Lattice) -> Result<()> {
    let l = lattice.side();
    let cell = (1024 / l).clamp(1, 8) as u32;
    let side = cell * l as u32;
    let tmp = tmp_path(path);
    let result = match image_format(path)? {
        ImageFormat::Png => draw_lattice(
            plotters::prelude::BitMapBackend::new(&tmp, (side, side)),
            lattice,
            cell,
        ),
        ImageFormat::Svg => draw_lattice(
            plotters::prelude::SVGBackend::new(&tmp, (side, side)),
            lattice,
            cell,
        ),
    };
    finish(path, &tmp, result)
}

fn draw_lattice<DB: plotters::prelude::DrawingBackend>(
    backend: DB,
    lattice: &Lattice,
    cell: u32,
) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Debug| anyhow::anyhow!("{e:?}");
    let root = backend.into_drawing_area();
    root.fill(&RGBColor(235, 235, 235)).map_err(|e| err(&e))?;
    let l = lattice.side();
    let dark = RGBColor(20, 40, 90);
    for (i, &s) in lattice.spins().iter().enumerate() {
        if s > 0 {
            let (r, c) = ((i / l) as i32, (i % l) as i32);
            let k = cell as i32;
            root.draw(&Rectangle::new(
                [(c * k, r * k), ((c + 1) * k, (r + 1) * k)],
                dark.filled(),
            ))
            .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
