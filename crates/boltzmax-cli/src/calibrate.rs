//! `boltzmax calibrate`: fit temperature, vector or matrix scaling on a
//! validation set's logits, report the calibration metrics before and
//! after, apply the fit to a test set, write calibrated probabilities and
//! draw a reliability diagram.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use boltzmax::learn::calibrate::{
    Binning, Calibrator, Metrics, ReliabilityBin, ScalingOptions, fit_matrix_scaling,
    fit_temperature, fit_vector_scaling, logits_from_probabilities, reliability,
};
use serde_json::json;

use crate::plot::{ImageFormat, image_format, register_fonts};
use crate::table::{Table, read_labels, read_table, write_matrix};

/// Calibration maps `calibrate` can fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// One temperature for all classes (solved exactly).
    Temperature,
    /// A weight and a bias per class.
    Vector,
    /// A full k x k matrix and k biases.
    Matrix,
}

/// How the summary is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Report {
    /// A readable table.
    Text,
    /// One JSON object.
    Json,
}

/// Options of `boltzmax calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Validation logits: n rows of k scores (CSV/text, or a 2-d .npy).
    #[arg(long, value_name = "FILE")]
    pub logits: PathBuf,
    /// Validation labels: one integer in 0..k per row (text or .npy).
    #[arg(long, value_name = "FILE")]
    pub labels: PathBuf,
    /// The score files hold probabilities, not logits (converted by ln; 0
    /// becomes a class that is ruled out).
    #[arg(long)]
    pub probabilities: bool,
    /// Test scores to apply the fitted map to.
    #[arg(long, value_name = "FILE")]
    pub apply: Option<PathBuf>,
    /// Labels of the test scores (for metrics on the test set).
    #[arg(long, value_name = "FILE", requires = "apply")]
    pub test_labels: Option<PathBuf>,
    /// Calibration map to fit.
    #[arg(long, value_enum, default_value = "temperature")]
    pub method: Method,
    /// Bins for ECE, MCE, classwise ECE and the reliability diagram.
    #[arg(long, default_value_t = 15)]
    pub bins: usize,
    /// Penalty l2/2 ||w||^2 on vector or matrix scaling's weights.
    #[arg(long, default_value_t = 0.0)]
    pub l2: f64,
    /// Write calibrated probabilities (of --apply, else of --logits) to
    /// this file (.csv or .npy).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Draw a reliability diagram before/after (.png or .svg) of the test
    /// set if labelled, else of the validation set.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Summary format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Report,
}

/// Reads a score file and checks every value, naming file, line and
/// column of the first bad one; returns logits.
fn read_scores(path: &Path, probabilities: bool) -> Result<Table> {
    let mut t = read_table(path)?;
    if t.rows == 0 {
        bail!("{}: no rows", path.display());
    }
    if t.cols < 2 {
        bail!(
            "{}: {} column(s); need one score per class, at least 2",
            path.display(),
            t.cols
        );
    }
    for i in 0..t.rows {
        for (j, &v) in t.row(i).iter().enumerate() {
            if probabilities {
                if !(0.0..=1.0).contains(&v) {
                    bail!(
                        "{}, column {}: {v} is not a probability in [0, 1]",
                        t.place(i),
                        j + 1
                    );
                }
            } else if !v.is_finite() {
                bail!("{}, column {}: logit {v} is not finite", t.place(i), j + 1);
            }
        }
        if probabilities && t.row(i).iter().all(|&v| v == 0.0) {
            bail!("{}: every probability in the row is 0", t.place(i));
        }
    }
    if probabilities {
        t.values = logits_from_probabilities(&t.values, t.cols)?;
    }
    Ok(t)
}

/// Reads labels for `scores` and checks count and range.
fn read_matching_labels(path: &Path, scores: &Table) -> Result<Vec<usize>> {
    let labels = read_labels(path)?;
    if labels.len() != scores.rows {
        bail!(
            "{} has {} labels but {} has {} rows",
            path.display(),
            labels.len(),
            scores.path.display(),
            scores.rows
        );
    }
    if let Some(i) = labels.iter().position(|&y| y >= scores.cols) {
        bail!(
            "{}:{}: label {} is out of range for {} classes (the columns of {})",
            path.display(),
            i + 1,
            labels[i],
            scores.cols,
            scores.path.display()
        );
    }
    Ok(labels)
}

fn metrics_json(m: &Metrics) -> serde_json::Value {
    json!({
        "rows": m.n, "nll": m.nll, "accuracy": m.accuracy, "brier": m.brier,
        "ece": m.ece, "ece_equal_mass": m.ece_equal_mass, "mce": m.mce,
        "classwise_ece": m.classwise_ece, "bins": m.bins,
    })
}

/// Picks one metric out of a [`Metrics`].
type MetricFn = fn(&Metrics) -> f64;

/// Runs `boltzmax calibrate`.
pub fn run(args: CalibrateArgs) -> Result<()> {
    if args.bins == 0 {
        bail!("--bins must be at least 1");
    }
    if let Some(p) = &args.plot {
        image_format(p)?;
    }
    let val = read_scores(&args.logits, args.probabilities)?;
    let k = val.cols;
    let val_labels = read_matching_labels(&args.labels, &val)?;
    let test = match &args.apply {
        Some(p) => {
            let t = read_scores(p, args.probabilities)?;
            if t.cols != k {
                bail!(
                    "{} has {} columns but {} has {k}",
                    p.display(),
                    t.cols,
                    args.logits.display()
                );
            }
            Some(t)
        }
        None => None,
    };
    let test_labels = match (&args.test_labels, &test) {
        (Some(p), Some(t)) => Some(read_matching_labels(p, t)?),
        _ => None,
    };

    let opts = ScalingOptions {
        l2: args.l2,
        ..ScalingOptions::default()
    };
    let (calibrator, fit_info) = match args.method {
        Method::Temperature => {
            let fit = fit_temperature(&val.values, k, &val_labels)?;
            let info = json!({
                "temperature": fit.temperature, "beta": fit.beta,
                "evaluations": fit.evaluations, "derivative": fit.derivative,
            });
            (fit.calibrator(), info)
        }
        Method::Vector | Method::Matrix => {
            let (c, r) = if args.method == Method::Vector {
                fit_vector_scaling(&val.values, k, &val_labels, &opts)?
            } else {
                fit_matrix_scaling(&val.values, k, &val_labels, &opts)?
            };
            let (weights, biases) = match &c {
                Calibrator::Vector { weights, biases } | Calibrator::Matrix { weights, biases } => {
                    (weights, biases)
                }
                Calibrator::Temperature { .. } => {
                    unreachable!("a scaling fit returns a scaling map")
                }
            };
            let info = json!({
                "weights": weights, "biases": biases, "iterations": r.iterations,
                "converged": r.converged, "objective": r.objective,
            });
            (c, info)
        }
    };

    let before_val = Metrics::compute(&val.values, k, &val_labels, args.bins)?;
    let cal_val = calibrator.apply(&val.values, k)?;
    let after_val = Metrics::compute(&cal_val, k, &val_labels, args.bins)?;
    let cal_test = test
        .as_ref()
        .map(|t| calibrator.apply(&t.values, k))
        .transpose()?;
    let test_metrics = match (&test, &cal_test, &test_labels) {
        (Some(t), Some(c), Some(y)) => Some((
            Metrics::compute(&t.values, k, y, args.bins)?,
            Metrics::compute(c, k, y, args.bins)?,
        )),
        _ => None,
    };

    // Everything is computed; now the files, then the summary.
    if let Some(out) = &args.output {
        let logits = cal_test.as_ref().unwrap_or(&cal_val);
        let mut probs = vec![0.0; logits.len()];
        for (p, z) in probs.chunks_exact_mut(k).zip(logits.chunks_exact(k)) {
            boltzmax::softmax_into(p, z, &boltzmax::Params::default())?;
        }
        write_matrix(out, &probs, k, None)?;
    }
    if let Some(plot) = &args.plot {
        let (raw, cal, y, set) = match (&test, &cal_test, &test_labels) {
            (Some(t), Some(c), Some(y)) => (&t.values, c, y, "test"),
            _ => (&val.values, &cal_val, &val_labels, "validation"),
        };
        let binning = Binning::EqualWidth { bins: args.bins };
        let before = reliability(raw, k, y, binning)?;
        let after = reliability(cal, k, y, binning)?;
        let ece_b = Metrics::compute(raw, k, y, args.bins)?.ece;
        let ece_a = Metrics::compute(cal, k, y, args.bins)?.ece;
        let title = match &calibrator {
            Calibrator::Temperature { beta } => {
                format!("temperature scaling, T = {:.4}", 1.0 / beta)
            }
            Calibrator::Vector { .. } => "vector scaling".to_string(),
            Calibrator::Matrix { .. } => "matrix scaling".to_string(),
        };
        draw_reliability(plot, &before, &after, ece_b, ece_a, &title, set)?;
    }

    let method = match args.method {
        Method::Temperature => "temperature",
        Method::Vector => "vector",
        Method::Matrix => "matrix",
    };
    match args.format {
        Report::Json => {
            let mut v = json!({
                "method": method,
                "fit": fit_info,
                "validation": {"before": metrics_json(&before_val), "after": metrics_json(&after_val)},
            });
            if let Some((b, a)) = &test_metrics {
                v["test"] = json!({"before": metrics_json(b), "after": metrics_json(a)});
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Report::Text => {
            println!("method: {method} scaling");
            if let Calibrator::Temperature { beta } = &calibrator {
                println!("temperature T = {}   (divide logits by T)", 1.0 / beta);
                println!("inverse temperature beta = 1/T = {beta}   (multiply logits by beta)");
            } else {
                println!(
                    "fit: {} iterations, converged: {}",
                    fit_info["iterations"], fit_info["converged"]
                );
            }
            let mut cols: Vec<(String, &Metrics)> = vec![
                (format!("val before ({})", before_val.n), &before_val),
                ("val after".into(), &after_val),
            ];
            if let Some((b, a)) = &test_metrics {
                cols.push((format!("test before ({})", b.n), b));
                cols.push(("test after".into(), a));
            }
            print!("{:<28}", "metric");
            for (h, _) in &cols {
                print!("{h:>20}");
            }
            println!();
            let rows: [(&str, MetricFn); 7] = [
                ("NLL", |m| m.nll),
                ("accuracy", |m| m.accuracy),
                ("Brier", |m| m.brier),
                ("ECE", |m| m.ece),
                ("ECE (equal mass)", |m| m.ece_equal_mass),
                ("MCE", |m| m.mce),
                ("classwise ECE", |m| m.classwise_ece),
            ];
            for (name, f) in rows {
                let label = if name.starts_with("ECE")
                    || name.contains("MCE")
                    || name.contains("classwise")
                {
                    format!("{name} [{} bins]", args.bins)
                } else {
                    name.to_string()
                };
                print!("{label:<28}");
                for (_, m) in &cols {
                    print!("{:>20.6}", f(m));
                }
                println!();
            }
        }
    }
    Ok(())
}

/// Draws two reliability diagrams side by side (before, after): bars of
/// accuracy per non-empty bin, the gap to the mean confidence (black dot)
/// in red, the row count above each bin, the diagonal of perfect
/// calibration. Empty bins are left blank.
fn draw_reliability(
    path: &Path,
    before: &[ReliabilityBin],
    after: &[ReliabilityBin],
    ece_before: f64,
    ece_after: f64,
    title: &str,
    set: &str,
) -> Result<()> {
    use plotters::prelude::*;
    register_fonts();
    let format = image_format(path)?;
    // Draw into a temporary file beside the target, then rename, so an
    // error leaves no partial image.
    let ext = if format == ImageFormat::Png {
        "png"
    } else {
        "svg"
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{name}.tmp{}.{ext}", std::process::id()));
    let size = (900u32, 460u32);
    let result = match format {
        ImageFormat::Png => draw_panels(
            BitMapBackend::new(&tmp, size).into_drawing_area(),
            before,
            after,
            ece_before,
            ece_after,
            title,
            set,
        ),
        ImageFormat::Svg => draw_panels(
            SVGBackend::new(&tmp, size).into_drawing_area(),
            before,
            after,
            ece_before,
            ece_after,
            title,
            set,
        ),
    };
    if let Err(e) = result.and_then(|()| std::fs::rename(&tmp, path).map_err(Into::into)) {
        let _ = std::fs::remove_file(&tmp);
        bail!("{}: cannot draw the plot: {e}", path.display());
    }
    Ok(())
}

/// The drawing itself, for any backend.
fn draw_panels<DB: plotters::prelude::DrawingBackend>(
    root: plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    before: &[ReliabilityBin],
    after: &[ReliabilityBin],
    ece_before: f64,
    ece_after: f64,
    title: &str,
    set: &str,
) -> Result<()> {
    use plotters::prelude::*;
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let root = root
        .titled(
            &format!("Reliability on the {set} set: {title}"),
            ("sans-serif", 20),
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let panels = root.split_evenly((1, 2));
    for (area, bins, label) in [
        (&panels[0], before, format!("before (ECE {ece_before:.4})")),
        (&panels[1], after, format!("after (ECE {ece_after:.4})")),
    ] {
        let mut chart = ChartBuilder::on(area)
            .caption(label, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..1.0, 0.0..1.08)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        chart
            .configure_mesh()
            .x_desc("confidence")
            .y_desc("accuracy")
            .disable_mesh()
            .draw()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for b in bins {
            let (Some(acc), Some(conf)) = (b.accuracy, b.confidence) else {
                continue; // empty bin: nothing drawn, never a zero bar
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(b.lower, 0.0), (b.upper, acc)],
                    RGBColor(60, 110, 200).mix(0.85).filled(),
                )))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(b.lower, acc.min(conf)), (b.upper, acc.max(conf))],
                    RGBColor(220, 50, 50).mix(0.35).filled(),
                )))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (conf, conf),
                    3,
                    BLACK.filled(),
                )))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            // The number of rows in the bin, above it: a tall gap over 3
            // rows means less than one over 300.
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{}", b.count),
                    (b.lower, acc.max(conf) + 0.045),
                    ("sans-serif", 11),
                )))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                BLACK.stroke_width(1),
            ))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    root.present().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(())
}
