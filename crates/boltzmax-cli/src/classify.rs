//! `boltzmax classify train|predict`: softmax regression (scikit-learn's
//! multinomial `LogisticRegression` objective) from a table of features,
//! saved as a JSON model.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use boltzmax::Params;
use boltzmax::learn::calibrate::Metrics;
use boltzmax::learn::classify::lbfgs::LbfgsOptions;
use boltzmax::learn::classify::{SoftmaxRegression, Standardizer, TrainOptions, train};
use serde::{Deserialize, Serialize};

use crate::table::{
    Table, read_labels, read_rows, read_table, write_atomically, write_labels, write_matrix,
};

/// `classify` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ClassifyCommand {
    /// Fit a model to labelled rows and save it as JSON.
    Train(TrainArgs),
    /// Predict classes, probabilities (at any temperature) or logits.
    Predict(PredictArgs),
}

/// Where the features and labels come from.
#[derive(Debug, clap::Args)]
pub struct DataArgs {
    /// Feature table: CSV/text (a header line is allowed) or a 2-d .npy.
    /// Without --labels its last column is the class label.
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// Labels in their own file (one integer per row); then every column
    /// of DATA is a feature.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Use only these rows of DATA (0-based indices, one per line), e.g.
    /// data/splits/digits_train.txt.
    #[arg(long, value_name = "FILE")]
    pub rows: Option<PathBuf>,
}

/// Options of `classify train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to save the model (JSON).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Inverse regularisation strength (scikit-learn's C); the objective
    /// is mean cross-entropy + ||W||^2 / (2 C n).
    #[arg(long = "C", short = 'C', default_value_t = 1.0)]
    pub c: f64,
    /// Centre and scale each feature by the training rows' mean and
    /// (population) standard deviation.
    #[arg(long)]
    pub standardize: bool,
    /// Divide every feature by this value first (e.g. 16 for the digits'
    /// 0..16 pixels).
    #[arg(long, value_name = "X")]
    pub divide_by: Option<f64>,
    /// Do not fit intercepts.
    #[arg(long)]
    pub no_intercept: bool,
    /// Stop when the largest gradient component is below this.
    #[arg(long, default_value_t = 1e-8)]
    pub tol: f64,
    /// Most L-BFGS iterations.
    #[arg(long, default_value_t = 15_000)]
    pub max_iter: usize,
    /// Number of classes (default: the largest label + 1).
    #[arg(long)]
    pub classes: Option<usize>,
}

/// Options of `classify predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// Feature table (its last column may be the label, as for train; a
    /// table with exactly the model's number of features has none).
    #[command(flatten)]
    pub data: DataArgs,
    /// The model saved by `classify train`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Temperature of the predicted probabilities.
    #[arg(long, short = 'T', default_value_t = 1.0)]
    pub temperature: f64,
    /// What to write: classes, probabilities or logits.
    #[arg(long, value_enum, default_value = "classes")]
    pub write: Written,
    /// Output file (.csv or .npy; classes as one integer per line).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What `classify predict` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Written {
    /// The most probable class of each row.
    Classes,
    /// softmax(logits / T).
    Probabilities,
    /// W x + b.
    Logits,
}

/// The saved model: weights and the preprocessing to repeat.
#[derive(Debug, Serialize, Deserialize)]
struct ModelFile {
    format: String,
    features: usize,
    classes: usize,
    /// classes x features.
    weights: Vec<Vec<f64>>,
    intercepts: Vec<f64>,
    divide_by: Option<f64>,
    standardize: Option<StandardizeFile>,
    c: f64,
    objective: f64,
    iterations: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct StandardizeFile {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

const FORMAT: &str = "boltzmax-softmax-regression-1";

/// Reads the data and splits off labels when they are there.
/// `features`: the model's feature count, when known (predict).
fn load(args: &DataArgs, features: Option<usize>) -> Result<(Table, Option<Vec<usize>>)> {
    let mut table = read_table(&args.data)?;
    if let Some(r) = &args.rows {
        let rows = read_rows(r, table.rows)?;
        table = table.select(&rows);
    }
    if table.rows == 0 {
        bail!("{}: no rows", args.data.display());
    }
    for i in 0..table.rows {
        if let Some(j) = table.row(i).iter().position(|v| !v.is_finite()) {
            bail!(
                "{}, column {}: {} is not finite",
                table.place(i),
                j + 1,
                table.row(i)[j]
            );
        }
    }
    if let Some(l) = &args.labels {
        let mut labels = read_labels(l)?;
        if let Some(r) = &args.rows {
            let all = labels.len();
            let rows = read_rows(r, all)?;
            labels = rows.iter().map(|&i| labels[i]).collect();
        }
        if labels.len() != table.rows {
            bail!(
                "{} has {} labels but {} has {} rows",
                l.display(),
                labels.len(),
                args.data.display(),
                table.rows
            );
        }
        return Ok((table, Some(labels)));
    }
    if features == Some(table.cols) {
        return Ok((table, None));
    }
    let (x, y) = table.split_last_column()?;
    Ok((x, Some(y)))
}

fn preprocess(x: &mut [f64], divide_by: Option<f64>, s: Option<&Standardizer>) -> Result<()> {
    if let Some(d) = divide_by {
        x.iter_mut().for_each(|v| *v /= d);
    }
    if let Some(s) = s {
        let t = s.transform(x)?;
        x.copy_from_slice(&t);
    }
    Ok(())
}

/// Runs `boltzmax classify ...`.
pub fn run(cmd: ClassifyCommand) -> Result<()> {
    match cmd {
        ClassifyCommand::Train(a) => train_cmd(a),
        ClassifyCommand::Predict(a) => predict_cmd(a),
    }
}

fn train_cmd(a: TrainArgs) -> Result<()> {
    if a.c.is_nan() || a.c <= 0.0 {
        bail!("--C must be > 0, got {}", a.c);
    }
    if let Some(d) = a.divide_by.filter(|d| !d.is_finite() || *d == 0.0) {
        bail!("--divide-by must be finite and nonzero, got {d}");
    }
    let (mut x, labels) = load(&a.data, None)?;
    let labels = labels.expect("train data always has labels");
    let classes = a
        .classes
        .unwrap_or_else(|| labels.iter().max().map_or(0, |m| m + 1));
    if let Some(i) = labels.iter().position(|&y| y >= classes) {
        bail!(
            "{}: label {} is out of range for {classes} classes",
            x.place(i),
            labels[i]
        );
    }
    if classes < 2 {
        bail!(
            "{}: the labels name only {classes} class; need at least 2",
            a.data.data.display()
        );
    }
    preprocess(&mut x.values, a.divide_by, None)?;
    let standardizer = if a.standardize {
        let s = Standardizer::fit(&x.values, x.cols)?;
        preprocess(&mut x.values, None, Some(&s))?;
        Some(s)
    } else {
        None
    };
    let opts = TrainOptions {
        c: a.c,
        fit_intercept: !a.no_intercept,
        classes: Some(classes),
        lbfgs: LbfgsOptions {
            gtol: a.tol,
            max_iter: a.max_iter,
            ..LbfgsOptions::default()
        },
    };
    let start = std::time::Instant::now();
    let (model, report) = train(&x.values, x.cols, &labels, &opts)?;
    let seconds = start.elapsed().as_secs_f64();
    let file = ModelFile {
        format: FORMAT.into(),
        features: model.features,
        classes: model.classes,
        weights: model
            .weights
            .chunks(model.features)
            .map(<[f64]>::to_vec)
            .collect(),
        intercepts: model.intercepts.clone(),
        divide_by: a.divide_by,
        standardize: standardizer.map(|s| StandardizeFile {
            mean: s.mean,
            scale: s.scale,
        }),
        c: a.c,
        objective: report.objective,
        iterations: report.iterations,
    };
    let acc = Metrics::compute(&model.logits(&x.values)?, classes, &labels, 15)?.accuracy;
    write_atomically(&a.model, serde_json::to_string_pretty(&file)?.as_bytes())?;
    println!(
        "rows {}  features {}  classes {classes}  C {}",
        x.rows, x.cols, a.c
    );
    println!(
        "objective {:.12}  (mean cross-entropy + ||W||^2/(2 C n))  max|gradient| {:.2e}",
        report.objective, report.grad_inf
    );
    println!(
        "L-BFGS: {} iterations, {} evaluations, stop: {:?}, converged: {}, {:.4} s",
        report.iterations, report.evaluations, report.stop, report.converged, seconds
    );
    println!("training accuracy {acc:.6}");
    Ok(())
}

fn read_model(path: &Path) -> Result<(SoftmaxRegression, ModelFile)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let f: ModelFile = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a boltzmax model", path.display()))?;
    if f.format != FORMAT {
        bail!(
            "{}: model format '{}', expected '{FORMAT}'",
            path.display(),
            f.format
        );
    }
    if f.weights.len() != f.classes
        || f.weights.iter().any(|w| w.len() != f.features)
        || f.intercepts.len() != f.classes
    {
        bail!(
            "{}: weights and intercepts do not match {} classes x {} features",
            path.display(),
            f.classes,
            f.features
        );
    }
    let model = SoftmaxRegression {
        features: f.features,
        classes: f.classes,
        weights: f.weights.concat(),
        intercepts: f.intercepts.clone(),
    };
    Ok((model, f))
}

fn predict_cmd(a: PredictArgs) -> Result<()> {
    let params = Params::temperature(a.temperature)?;
    let (model, file) = read_model(&a.model)?;
    let (mut x, labels) = load(&a.data, Some(model.features))?;
    if x.cols != model.features {
        bail!(
            "{} has {} feature columns, the model {} expects {}",
            a.data.data.display(),
            x.cols,
            a.model.display(),
            model.features
        );
    }
    let out_of_range = labels.as_ref().and_then(|y| {
        y.iter()
            .position(|&v| v >= model.classes)
            .map(|i| (i, y[i]))
    });
    if let Some((i, v)) = out_of_range {
        bail!(
            "{}: label {v} is out of range for the model's {} classes",
            x.place(i),
            model.classes
        );
    }
    let standardizer = file.standardize.map(|s| Standardizer {
        mean: s.mean,
        scale: s.scale,
    });
    preprocess(&mut x.values, file.divide_by, standardizer.as_ref())?;
    let logits = model.logits(&x.values)?;
    let classes = model.predict(&x.values)?;
    if let Some(out) = &a.output {
        match a.write {
            Written::Classes => write_labels(out, &classes)?,
            Written::Probabilities => write_matrix(
                out,
                &model.predict_proba(&x.values, &params)?,
                model.classes,
                None,
            )?,
            Written::Logits => write_matrix(out, &logits, model.classes, None)?,
        }
    }
    println!(
        "rows {}  classes {}  temperature {}",
        x.rows, model.classes, a.temperature
    );
    if let Some(y) = &labels {
        let scaled: Vec<f64> = logits.iter().map(|z| z / a.temperature).collect();
        let m = Metrics::compute(&scaled, model.classes, y, 15)?;
        let right = classes.iter().zip(y).filter(|(p, t)| p == t).count();
        println!("accuracy {:.6}  ({right}/{})", m.accuracy, x.rows);
        println!(
            "NLL {:.6}  Brier {:.6}  ECE [15 bins] {:.6}",
            m.nll, m.brier, m.ece
        );
    }
    if a.output.is_none() && a.write == Written::Classes && labels.is_none() {
        for c in &classes {
            println!("{c}");
        }
    }
    Ok(())
}
