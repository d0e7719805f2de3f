//! Labelled tables for the learning commands (`calibrate`, `classify`):
//! a matrix of numbers with an optional header line, from CSV/text or a
//! 2-d `.npy` file, integer label files, row-index files, and writing a
//! matrix as CSV or `.npy` without leaving a partial file (through the
//! shared `output` module). The shared `input` reader serves unlabelled
//! rows; these tables also carry a header and each row's line number, for
//! messages that name the line of a bad logit or label.
//!
//! Text: one row per line, numbers separated by commas or whitespace;
//! blank lines and everything after `#` are skipped; a first line with a
//! token that is not a number is a header. Every error names the file,
//! the line, the column (1-based) and the token.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use ndarray::{Array1, Array2, ArrayD};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use crate::output::push_number;
/// Re-exported for the commands that already write through this module.
pub use crate::output::write_atomically;

/// A dense matrix read from a file.
#[derive(Debug, Clone)]
pub struct Table {
    /// Values, row-major.
    pub values: Vec<f64>,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Column names, when the text file had a header.
    pub header: Option<Vec<String>>,
    /// Where it came from (for messages).
    pub path: PathBuf,
    /// For text, the 1-based line number of each row (for messages).
    pub lines: Option<Vec<usize>>,
}

impl Table {
    /// The row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// "file, line L" for text input, "file, row R" for .npy.
    pub fn place(&self, i: usize) -> String {
        match &self.lines {
            Some(l) => format!("{}:{}", self.path.display(), l[i]),
            None => format!("{}: row {}", self.path.display(), i + 1),
        }
    }

    /// Keeps only the listed rows, in the listed order.
    pub fn select(&self, rows: &[usize]) -> Table {
        let mut values = Vec::with_capacity(rows.len() * self.cols);
        for &i in rows {
            values.extend_from_slice(self.row(i));
        }
        Table {
            values,
            rows: rows.len(),
            cols: self.cols,
            header: self.header.clone(),
            path: self.path.clone(),
            lines: self
                .lines
                .as_ref()
                .map(|l| rows.iter().map(|&i| l[i]).collect()),
        }
    }

    /// Splits off the last column (as labels) from the rest.
    pub fn split_last_column(&self) -> Result<(Table, Vec<usize>)> {
        if self.cols < 2 {
            bail!(
                "{}: needs at least one feature column and a label column",
                self.path.display()
            );
        }
        let mut feats = Vec::with_capacity(self.rows * (self.cols - 1));
        let mut labels = Vec::with_capacity(self.rows);
        for i in 0..self.rows {
            let r = self.row(i);
            feats.extend_from_slice(&r[..self.cols - 1]);
            labels
                .push(to_label(r[self.cols - 1]).map_err(|e| {
                    anyhow!("{}, column {} (label): {e}", self.place(i), self.cols)
                })?);
        }
        Ok((
            Table {
                values: feats,
                rows: self.rows,
                cols: self.cols - 1,
                header: self.header.as_ref().map(|h| h[..h.len() - 1].to_vec()),
                path: self.path.clone(),
                lines: self.lines.clone(),
            },
            labels,
        ))
    }
}

fn to_label(v: f64) -> std::result::Result<usize, String> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1e15 {
        Ok(v as usize)
    } else {
        Err(format!("{v} is not a class label (an integer >= 0)"))
    }
}

fn is_npy(path: &Path, bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x93NUMPY") || path.extension().is_some_and(|e| e == "npy")
}

/// Reads a matrix: a 2-d `.npy` (f64 or f32; a 1-d one is one column) or
/// text with an optional header.
pub fn read_table(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if is_npy(path, &bytes) {
        let arr = read_npy_f64(path, &bytes)?;
        let (rows, cols) = match arr.shape() {
            [n] => (*n, 1),
            [n, k] => (*n, *k),
            s => bail!(
                "{}: expected a 1-d or 2-d array, got shape {s:?}",
                path.display()
            ),
        };
        return Ok(Table {
            values: arr.iter().copied().collect(),
            rows,
            cols,
            header: None,
            path: path.to_path_buf(),
            lines: None,
        });
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{}: not UTF-8 text (nor a .npy file)", path.display()))?;
    let mut values = Vec::new();
    let mut header = None;
    let mut lines = Vec::new();
    let mut cols: Option<usize> = None;
    for (ln, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let tokens: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .collect();
        let parsed: Vec<std::result::Result<f64, _>> =
            tokens.iter().map(|t| parse_number(t)).collect();
        if lines.is_empty()
            && header.is_none()
            && parsed.iter().any(|p| p.is_err())
            && tokens.iter().any(|t| {
                t.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
            })
        {
            header = Some(tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>());
            cols = Some(tokens.len());
            continue;
        }
        match cols {
            Some(c) if c != tokens.len() => bail!(
                "{}:{}: {} values, expected {c} as on the lines before",
                path.display(),
                ln + 1,
                tokens.len()
            ),
            _ => cols = Some(tokens.len()),
        }
        for (j, (p, t)) in parsed.into_iter().zip(&tokens).enumerate() {
            let v = p.map_err(|_| {
                anyhow!(
                    "{}:{}: column {}: '{}' is not a number",
                    path.display(),
                    ln + 1,
                    j + 1,
                    short(t)
                )
            })?;
            values.push(v);
        }
        lines.push(ln + 1);
    }
    let cols = cols.unwrap_or(0);
    Ok(Table {
        rows: lines.len(),
        values,
        cols,
        header,
        path: path.to_path_buf(),
        lines: Some(lines),
    })
}

fn parse_number(t: &str) -> std::result::Result<f64, std::num::ParseFloatError> {
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" => Ok(f64::INFINITY),
        "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
        "nan" => Ok(f64::NAN),
        _ => t.parse(),
    }
}

fn short(t: &str) -> String {
    if t.chars().count() > 24 {
        format!("{}...", t.chars().take(24).collect::<String>())
    } else {
        t.to_string()
    }
}

fn read_npy_f64(path: &Path, bytes: &[u8]) -> Result<ArrayD<f64>> {
    if let Ok(a) = ArrayD::<f64>::read_npy(bytes) {
        return Ok(a);
    }
    if let Ok(a) = ArrayD::<f32>::read_npy(bytes) {
        return Ok(a.mapv(f64::from));
    }
    if let Ok(a) = ArrayD::<i64>::read_npy(bytes) {
        return Ok(a.mapv(|v| v as f64));
    }
    if let Ok(a) = ArrayD::<i32>::read_npy(bytes) {
        return Ok(a.mapv(f64::from));
    }
    bail!(
        "{}: unsupported .npy file (expected a little-endian f64, f32, i64 or i32 array)",
        path.display()
    )
}

/// Reads class labels: one integer per row (text: one per line, or a
/// single column; `.npy`: a 1-d integer or float array).
pub fn read_labels(path: &Path) -> Result<Vec<usize>> {
    let t = read_table(path)?;
    if t.cols != 1 && t.rows > 0 {
        bail!(
            "{}: labels must be one column, got {} columns",
            path.display(),
            t.cols
        );
    }
    t.values
        .iter()
        .enumerate()
        .map(|(i, &v)| to_label(v).map_err(|e| anyhow!("{}: {e}", t.place(i))))
        .collect()
}

/// Reads row indices (0-based, one per line) and checks them against `n`.
pub fn read_rows(path: &Path, n: usize) -> Result<Vec<usize>> {
    let rows = read_labels(path)?;
    if let Some(i) = rows.iter().position(|&r| r >= n) {
        bail!(
            "{}:{}: row index {} is out of range for {n} rows",
            path.display(),
            i + 1,
            rows[i]
        );
    }
    Ok(rows)
}

/// Writes a matrix as `.npy` (by extension) or CSV, atomically: into a
/// temporary file in the same directory, renamed at the end.
pub fn write_matrix(
    path: &Path,
    values: &[f64],
    cols: usize,
    header: Option<&[String]>,
) -> Result<()> {
    let bytes = if path.extension().is_some_and(|e| e == "npy") {
        let mut buf = Vec::new();
        let rows = values.len().checked_div(cols).unwrap_or(0);
        Array2::from_shape_vec((rows, cols), values.to_vec())?.write_npy(&mut buf)?;
        buf
    } else {
        let mut s = String::new();
        if let Some(h) = header {
            s.push_str(&h.join(","));
            s.push('\n');
        }
        for row in values.chunks(cols.max(1)) {
            for (j, &v) in row.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                push_number(&mut s, v);
            }
            s.push('\n');
        }
        s.into_bytes()
    };
    write_atomically(path, &bytes)
}

/// Writes integers one per line (or a 1-d i64 `.npy`), atomically.
pub fn write_labels(path: &Path, labels: &[usize]) -> Result<()> {
    let bytes = if path.extension().is_some_and(|e| e == "npy") {
        let mut buf = Vec::new();
        Array1::from_iter(labels.iter().map(|&v| v as i64)).write_npy(&mut buf)?;
        buf
    } else {
        labels
            .iter()
            .map(|v| format!("{v}\n"))
            .collect::<String>()
            .into_bytes()
    };
    write_atomically(path, &bytes)
}

/// The shortest decimal that reads back to `v` (the shared `output`
/// notation), as a `String`.
pub fn number(v: f64) -> String {
    let mut s = String::new();
    push_number(&mut s, v);
    s
}
