//! `boltzmax rbm train|sample`: restricted Boltzmann machines on a table
//! of numbers in [0, 1], with image grids of learned filters and samples.
//!
//! Model file (JSON, documented in docs/ebm.md):
//! `{"format": "boltzmax-rbm", "version": 1, "visible": V, "hidden": H,
//! "weights": [[H numbers] x V], "visible_bias": [V], "hidden_bias": [H]}`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use boltzmax::learn::rbm::{Rbm, TrainConfig, train};
use ndarray::{Array1, Array2};
use serde_json::json;

use crate::bandit::progress_bar;
use crate::plot::{ImageFormat, image_format};
use crate::table::{read_rows, read_table, write_atomically, write_matrix};

/// `boltzmax rbm` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RbmCommand {
    /// Train an RBM and save it.
    Train(TrainArgs),
    /// Draw samples from a saved RBM by Gibbs sampling.
    Sample(SampleArgs),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable lines.
    Text,
    /// One JSON object.
    Json,
}

/// Options of `boltzmax rbm train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Data: CSV/text (optional header) or .npy, one row per example.
    pub data: PathBuf,
    /// The last column is a class label: drop it.
    #[arg(long)]
    pub labels_last: bool,
    /// Divide every value by this first (16 for the digits' 0..16 pixels).
    #[arg(long, default_value_t = 1.0)]
    pub divide_by: f64,
    /// Keep only these rows (0-based indices, one per line).
    #[arg(long, value_name = "FILE")]
    pub rows: Option<PathBuf>,
    /// Hidden units.
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Epochs.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.06)]
    pub lr: f64,
    /// Minibatch size.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// Gibbs steps per update (CD-k / PCD-k).
    #[arg(short, long, default_value_t = 1)]
    pub k: usize,
    /// Plain contrastive divergence (chains restart at the data) instead
    /// of persistent chains.
    #[arg(long)]
    pub cd: bool,
    /// Persistent chains.
    #[arg(long, default_value_t = 10)]
    pub chains: usize,
    /// Momentum.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// L2 weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Shuffle rows each epoch.
    #[arg(long)]
    pub shuffle: bool,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to save the model (JSON).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// A grid image of the learned filters (columns of W), .png or .svg;
    /// needs a square number of visible units.
    #[arg(long, value_name = "FILE")]
    pub filters: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Options of `boltzmax rbm sample`.
#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// The model file written by `rbm train`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Number of independent chains (samples).
    #[arg(short, long, default_value_t = 64)]
    pub n: usize,
    /// Gibbs steps per chain, from a uniformly random start.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Seed (chain i uses stream i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the binary samples (CSV, or .npy by extension).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A grid image of the samples, .png or .svg.
    #[arg(long, value_name = "FILE")]
    pub grid: Option<PathBuf>,
}

/// Runs `boltzmax rbm ...`.
pub fn run(cmd: RbmCommand) -> Result<()> {
    match cmd {
        RbmCommand::Train(a) => run_train(a),
        RbmCommand::Sample(a) => run_sample(a),
    }
}

fn load_data(a: &TrainArgs) -> Result<Array2<f64>> {
    let mut t = read_table(&a.data)?;
    if let Some(r) = &a.rows {
        let rows = read_rows(r, t.rows)?;
        t = t.select(&rows);
    }
    if a.labels_last {
        t = t.split_last_column()?.0;
    }
    if !(a.divide_by.is_finite() && a.divide_by > 0.0) {
        bail!("--divide-by {}: must be finite and > 0", a.divide_by);
    }
    if t.rows == 0 {
        bail!("{}: no rows", a.data.display());
    }
    for i in 0..t.rows {
        for (j, &v) in t.row(i).iter().enumerate() {
            let x = v / a.divide_by;
            if !(0.0..=1.0).contains(&x) {
                bail!(
                    "{}, column {}: {v} / {} = {x} is outside [0, 1] (scale with --divide-by)",
                    t.place(i),
                    j + 1,
                    a.divide_by
                );
            }
        }
    }
    let values: Vec<f64> = t.values.iter().map(|v| v / a.divide_by).collect();
    Ok(Array2::from_shape_vec((t.rows, t.cols), values)?)
}

fn run_train(a: TrainArgs) -> Result<()> {
    for p in a.filters.iter() {
        image_format(p)?;
    }
    let x = load_data(&a)?;
    if let Some(p) = &a.filters {
        image_side(x.ncols()).with_context(|| format!("{}", p.display()))?;
    }
    let cfg = TrainConfig {
        hidden: a.hidden,
        learning_rate: a.lr,
        batch_size: a.batch,
        epochs: a.epochs,
        k: a.k,
        persistent: !a.cd,
        chains: a.chains,
        momentum: a.momentum,
        weight_decay: a.weight_decay,
        shuffle: a.shuffle,
        seed: a.seed,
    };
    let bar = progress_bar(a.epochs as u64, "rbm epochs");
    let start = Instant::now();
    let rbm = train(x.view(), &cfg, &mut |_| bar.inc(1))?;
    let fit_seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let pl = rbm.pseudo_likelihood_exact(x.view())?;
    let pl_sk = rbm.pseudo_likelihood_sklearn(x.view(), a.seed)?;
    write_atomically(
        &a.model,
        serde_json::to_string(&model_json(&rbm))?.as_bytes(),
    )?;
    if let Some(p) = &a.filters {
        let filters: Vec<Vec<f64>> = (0..rbm.hidden())
            .map(|j| rbm.weights.column(j).to_vec())
            .collect();
        draw_grid(p, &filters, true)?;
    }
    match a.format {
        Format::Text => {
            println!(
                "trained {} x {} RBM on {} rows in {fit_seconds:.3} s",
                rbm.visible(),
                rbm.hidden(),
                x.nrows()
            );
            println!(
                "pseudo-log-likelihood per row: exact (all bits) {pl:.4}, scikit-learn style (one random bit) {pl_sk:.4}"
            );
            println!("model written to {}", a.model.display());
        }
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "rows": x.nrows(), "visible": rbm.visible(), "hidden": rbm.hidden(),
                "fit_seconds": fit_seconds,
                "pseudo_likelihood_exact": pl,
                "pseudo_likelihood_sklearn": pl_sk,
                "model": a.model,
            }))?
        ),
    }
    Ok(())
}

fn model_json(rbm: &Rbm) -> serde_json::Value {
    let rows: Vec<Vec<f64>> = rbm.weights.rows().into_iter().map(|r| r.to_vec()).collect();
    json!({
        "format": "boltzmax-rbm",
        "version": 1,
        "visible": rbm.visible(),
        "hidden": rbm.hidden(),
        "weights": rows,
        "visible_bias": rbm.visible_bias.to_vec(),
        "hidden_bias": rbm.hidden_bias.to_vec(),
    })
}

fn load_model(path: &Path) -> Result<Rbm> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{}:{}:{}: not JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    let bad = |what: &str| anyhow!("{}: {what}", path.display());
    if v["format"] != "boltzmax-rbm" || v["version"] != 1 {
        return Err(bad(
            "not a boltzmax-rbm version 1 model (\"format\"/\"version\" fields)",
        ));
    }
    let nums = |key: &str| -> Result<Vec<f64>> {
        v[key]
            .as_array()
            .ok_or_else(|| bad(&format!("\"{key}\" must be an array")))?
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_f64()
                    .ok_or_else(|| bad(&format!("\"{key}\"[{i}] is not a number: {x}")))
            })
            .collect()
    };
    let vb = nums("visible_bias")?;
    let hb = nums("hidden_bias")?;
    let rows = v["weights"]
        .as_array()
        .ok_or_else(|| bad("\"weights\" must be an array of rows"))?;
    if rows.len() != vb.len() {
        return Err(bad(&format!(
            "\"weights\" has {} rows, expected {} (visible units)",
            rows.len(),
            vb.len()
        )));
    }
    let mut w = Vec::with_capacity(vb.len() * hb.len());
    for (i, r) in rows.iter().enumerate() {
        let r = r
            .as_array()
            .ok_or_else(|| bad(&format!("\"weights\"[{i}] is not an array")))?;
        if r.len() != hb.len() {
            return Err(bad(&format!(
                "\"weights\"[{i}] has {} entries, expected {}",
                r.len(),
                hb.len()
            )));
        }
        for (j, x) in r.iter().enumerate() {
            w.push(
                x.as_f64()
                    .ok_or_else(|| bad(&format!("\"weights\"[{i}][{j}] is not a number: {x}")))?,
            );
        }
    }
    let w = Array2::from_shape_vec((vb.len(), hb.len()), w)?;
    Rbm::from_parts(w, Array1::from(vb), Array1::from(hb)).map_err(|e| bad(&e.to_string()))
}

fn run_sample(a: SampleArgs) -> Result<()> {
    if let Some(p) = &a.grid {
        image_format(p)?;
    }
    let rbm = load_model(&a.model)?;
    if let Some(p) = &a.grid {
        image_side(rbm.visible()).with_context(|| format!("{}", p.display()))?;
    }
    if a.n == 0 {
        bail!("-n 0: need at least one sample");
    }
    // Start from uniform noise, drawn from the last stream so that it is
    // independent of the chains' streams 0..n.
    let mut v = Array2::<f64>::from_elem((a.n, rbm.visible()), 0.5);
    rbm.gibbs(&mut v, 1, a.seed ^ 0x5EED)?;
    rbm.gibbs(&mut v, a.steps, a.seed)?;
    if let Some(p) = &a.output {
        write_matrix(
            p,
            v.as_slice().expect("standard layout"),
            rbm.visible(),
            None,
        )?;
    }
    if let Some(p) = &a.grid {
        let imgs: Vec<Vec<f64>> = v.rows().into_iter().map(|r| r.to_vec()).collect();
        draw_grid(p, &imgs, false)?;
    }
    if a.output.is_none() && a.grid.is_none() {
        for row in v.rows() {
            let cells: Vec<String> = row.iter().map(|x| format!("{x}")).collect();
            println!("{}", cells.join(","));
        }
    }
    Ok(())
}

fn image_side(n: usize) -> Result<usize> {
    let s = (n as f64).sqrt().round() as usize;
    if s * s != n {
        bail!("a grid image needs a square number of visible units, got {n}");
    }
    Ok(s)
}

/// Draws images (each a square of pixels) in a grid, 6 screen pixels per
/// image pixel; `normalise` stretches each image to its own range (for
/// filters), else values are in [0, 1] with 1 dark.
fn draw_grid(path: &Path, images: &[Vec<f64>], normalise: bool) -> Result<()> {
    let side = image_side(images[0].len())?;
    let cols = (images.len() as f64).sqrt().ceil() as usize;
    let rows = images.len().div_ceil(cols);
    let px = 6usize;
    let cell = side * px + 2;
    let (w, h) = ((cols * cell + 2) as u32, (rows * cell + 2) as u32);
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
    let tmp = dir.join(format!(".{name}.tmp{}.{ext}", std::process::id()));
    let result = match image_format(path)? {
        ImageFormat::Png => grid_on(
            plotters::prelude::BitMapBackend::new(&tmp, (w, h)),
            images,
            side,
            cols,
            px,
            cell,
            normalise,
        ),
        ImageFormat::Svg => grid_on(
            plotters::prelude::SVGBackend::new(&tmp, (w, h)),
            images,
            side,
            cols,
            px,
            cell,
            normalise,
        ),
    };
    if let Err(e) = result.and_then(|()| std::fs::rename(&tmp, path).map_err(Into::into)) {
        let _ = std::fs::remove_file(&tmp);
        bail!("{}: cannot draw: {e}", path.display());
    }
    Ok(())
}

fn grid_on<DB: plotters::prelude::DrawingBackend>(
    backend: DB,
    images: &[Vec<f64>],
    side: usize,
    cols: usize,
    px: usize,
    cell: usize,
    normalise: bool,
) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Debug| anyhow!("{e:?}");
    let root = backend.into_drawing_area();
    root.fill(&RGBColor(128, 128, 128)).map_err(|e| err(&e))?;
    for (k, img) in images.iter().enumerate() {
        let (gx, gy) = ((k % cols) * cell + 2, (k / cols) * cell + 2);
        let (lo, hi) = if normalise {
            img.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                })
        } else {
            (0.0, 1.0)
        };
        let span = if hi > lo { hi - lo } else { 1.0 };
        for (p, &x) in img.iter().enumerate() {
            let g = (255.0 * (1.0 - ((x - lo) / span).clamp(0.0, 1.0))).round() as u8;
            let (x0, y0) = ((gx + (p % side) * px) as i32, (gy + (p / side) * px) as i32);
            root.draw(&Rectangle::new(
                [(x0, y0), (x0 + px as i32, y0 + px as i32)],
                RGBColor(g, g, g).filled(),
            ))
            .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
