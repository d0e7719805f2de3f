//! Writing results: text, CSV, JSON or `.npy`, to stdout or a file.
//!
//! Numbers are printed as the shortest decimal that parses back to the
//! same float (of the type computed in: f32 results print as f32), in
//! exponent form below 1e-5 and from 1e16 up so that 1e-300 is six
//! characters, not three hundred. Non-finite values print as `inf`,
//! `-inf` and `nan` (in JSON as the strings "inf", "-inf", "nan", since
//! JSON has no such numbers).
//!
//! The whole output is rendered in memory first, then written: to stdout,
//! or to `--output FILE` through a temporary file in the same directory
//! renamed over the target at the end, so a failure never leaves a
//! partial file behind.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{WritableElement, WriteNpyExt};

use crate::input::Layout;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One row per line, numbers separated by spaces.
    Text,
    /// One row per line, numbers separated by commas.
    Csv,
    /// Nested arrays (one level per dimension).
    Json,
    /// A NumPy .npy array (binary).
    Npy,
}

/// The output options every command shares: `#[command(flatten)] output: OutputArgs`.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format [default: from the --output extension (.csv, .json,
    /// .npy), else text].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<Format>,

    /// Write to FILE (atomically: all or nothing) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    /// The format asked for, or guessed from the output file's extension.
    pub fn format(&self) -> Format {
        if let Some(f) = self.format {
            return f;
        }
        let ext = self
            .output
            .as_deref()
            .and_then(Path::extension)
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Format::Csv,
            Some("json") => Format::Json,
            Some("npy") => Format::Npy,
            _ => Format::Text,
        }
    }

    /// Writes already rendered bytes where the options say.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        match self.output.as_deref() {
            Some(p) if p != Path::new("-") => write_atomically(p, bytes),
            _ => {
                if self.format() == Format::Npy
                    && std::io::IsTerminal::is_terminal(&std::io::stdout())
                {
                    bail!(
                        "refusing to write binary .npy to a terminal: use --output FILE or a pipe"
                    );
                }
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .context("<stdout>")
            }
        }
    }
}

/// A float the writers can print and store: f32 or f64.
pub trait Number: boltzmax::Real + WritableElement {}
impl Number for f32 {}
impl Number for f64 {}

/// Appends the shortest round-tripping decimal for `v`.
pub fn push_number<F: boltzmax::Real>(s: &mut String, v: F) {
    if v.is_nan() {
        s.push_str("nan");
    } else if v.is_infinite() {
        s.push_str(if v.is_sign_negative() { "-inf" } else { "inf" });
    } else {
        // Rust's `{}` and `{:e}` for floats both print the shortest digits
        // that parse back to the same value; they differ only in notation.
        let a = v.abs().to_f64();
        if a == 0.0 || (1e-5..1e16).contains(&a) {
            let _ = write!(s, "{v}");
        } else {
            let _ = write!(s, "{v:e}");
        }
    }
}

/// A result ready to print: values in row-major order, the array shape
/// (for JSON and .npy) and how many values go on each text/CSV line.
#[derive(Debug, Clone)]
pub struct Table<F> {
    /// The values, row-major.
    pub values: Vec<F>,
    /// The array layout for JSON and .npy.
    pub layout: Layout,
    /// Values per line in text and CSV (their sum is `values.len()`).
    pub lines: Vec<usize>,
}

impl<F: Number> Table<F> {
    /// A table printed one row (last axis) per line.
    pub fn new(values: Vec<F>, layout: Layout) -> Self {
        let lines = match &layout {
            Layout::Ragged(lens) => lens.clone(),
            Layout::Dims(d) => lines_of(d),
        };
        Table {
            values,
            layout,
            lines,
        }
    }

    /// A table whose text form has the shape `text_dims` (e.g. a reduction
    /// printed as if the reduced axis were kept with length 1, so that each
    /// input row's result stays on its own line).
    pub fn with_text_shape(values: Vec<F>, layout: Layout, text_dims: &[usize]) -> Self {
        Table {
            values,
            layout,
            lines: lines_of(text_dims),
        }
    }

    /// Renders the table in `format`.
    pub fn render(&self, format: Format) -> Result<Vec<u8>> {
        match format {
            Format::Text => Ok(self.render_lines(" ").into_bytes()),
            Format::Csv => Ok(self.render_lines(",").into_bytes()),
            Format::Json => Ok(self.render_json().into_bytes()),
            Format::Npy => self.render_npy(),
        }
    }

    fn render_lines(&self, sep: &str) -> String {
        let mut s = String::new();
        let mut at = 0;
        for &n in &self.lines {
            for (j, &v) in self.values[at..at + n].iter().enumerate() {
                if j > 0 {
                    s.push_str(sep);
                }
                push_number(&mut s, v);
            }
            s.push('\n');
            at += n;
        }
        s
    }

    fn render_json(&self) -> String {
        let mut s = String::new();
        let mut at = 0;
        match &self.layout {
            Layout::Ragged(lens) => {
                s.push('[');
                for (i, &n) in lens.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    json_nested(&mut s, &self.values, &mut at, &[n]);
                }
                s.push(']');
            }
            Layout::Dims(d) => json_nested(&mut s, &self.values, &mut at, d),
        }
        s.push('\n');
        s
    }

    fn render_npy(&self) -> Result<Vec<u8>> {
        let Layout::Dims(d) = &self.layout else {
            bail!(
                "--format npy needs rows of equal length, got {}",
                self.layout
            );
        };
        let a = ArrayD::from_shape_vec(IxDyn(d), self.values.clone())
            .context("result shape does not match its length")?;
        let mut buf = Vec::new();
        a.write_npy(&mut buf).context("writing .npy")?;
        Ok(buf)
    }
}

/// Line lengths for an array of shape `d` printed one last-axis row per line.
fn lines_of(d: &[usize]) -> Vec<usize> {
    match d.split_last() {
        None => vec![1],
        Some((&last, rest)) => vec![last; rest.iter().product()],
    }
}

fn json_nested<F: Number>(s: &mut String, values: &[F], at: &mut usize, dims: &[usize]) {
    match dims.split_first() {
        None => {
            json_number(s, values[*at]);
            *at += 1;
        }
        Some((&n, rest)) => {
            s.push('[');
            for i in 0..n {
                if i > 0 {
                    s.push(',');
                }
                json_nested(s, values, at, rest);
            }
            s.push(']');
        }
    }
}

fn json_number<F: Number>(s: &mut String, v: F) {
    if v.is_finite() {
        push_number(s, v);
    } else {
        s.push('"');
        push_number(s, v);
        s.push('"');
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old file or the whole new one, and an
/// error leaves nothing behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".boltzmax-{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| path.display().to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num<F: boltzmax::Real>(v: F) -> String {
        let mut s = String::new();
        push_number(&mut s, v);
        s
    }

    #[test]
    fn shortest_round_trip() {
        assert_eq!(num(0.1_f64), "0.1");
        assert_eq!(num(0.1_f32), "0.1");
        assert_eq!(num(1e-300_f64), "1e-300");
        assert_eq!(num(5e-324_f64), "5e-324");
        assert_eq!(num(1.5e300_f64), "1.5e300");
        assert_eq!(num(-0.0_f64), "-0");
        assert_eq!(num(f64::NEG_INFINITY), "-inf");
        assert_eq!(num(f32::NAN), "nan");
        for v in [
            1.0 / 3.0,
            2.0 / 3.0,
            1e-5,
            9.999e-6,
            1e16,
            123456789.123,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(num(v).parse::<f64>().unwrap(), v);
        }
        for v in [1.0_f32 / 3.0, 1e-40, f32::MAX] {
            assert_eq!(num(v).parse::<f32>().unwrap(), v);
        }
    }

    #[test]
    fn json_shapes() {
        let t = Table::new(
            vec![1.0_f64, 2.0, 3.0, f64::INFINITY],
            Layout::Dims(vec![2, 2]),
        );
        assert_eq!(t.render_json(), "[[1,2],[3,\"inf\"]]\n");
        let t = Table::new(vec![1.0_f64, 2.0, 3.0], Layout::Ragged(vec![2, 1]));
        assert_eq!(t.render_json(), "[[1,2],[3]]\n");
        assert!(t.render_npy().is_err());
        let t = Table::new(vec![0.5_f64], Layout::Dims(vec![]));
        assert_eq!(t.render_json(), "0.5\n");
        assert_eq!(t.render_lines(" "), "0.5\n");
    }
}
