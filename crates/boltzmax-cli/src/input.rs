//! Reading numbers: rows of text from a file or stdin, or a `.npy` array.
//!
//! Text input holds one row per line, numbers separated by whitespace or
//! commas; `inf`, `-inf` and `nan` are accepted in any case; blank lines
//! and everything after a `#` are skipped. Rows of equal length form a
//! 2-d array (so `--axis 0` works on them); rows of unequal length stay
//! ragged and can only be processed row by row. A `.npy` file (recognised
//! by its magic bytes, so it may also come through stdin) of dtype f32 or
//! f64 keeps its shape. `--shape` reshapes the flat stream of values (in
//! row-major order) instead.
//!
//! Every error names the file and, for text, the line, the column (the
//! n-th value on the line, counting from 1) and the offending token.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use ndarray::ArrayD;
use ndarray_npy::{ReadNpyError, ReadNpyExt};

/// A file argument: a path, or `-` for stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file on disk.
    File(PathBuf),
}

impl FromStr for Source {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s == "-" {
            Source::Stdin
        } else {
            Source::File(PathBuf::from(s))
        })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Stdin => f.write_str("<stdin>"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Source {
    /// All the bytes of the file or of stdin.
    pub fn read_bytes(&self) -> Result<Vec<u8>> {
        match self {
            Source::Stdin => {
                let mut buf = Vec::new();
                std::io::stdin()
                    .lock()
                    .read_to_end(&mut buf)
                    .context("<stdin>")?;
                Ok(buf)
            }
            Source::File(p) => std::fs::read(p).with_context(|| p.display().to_string()),
        }
    }
}

/// The input options every command that reads an array shares:
/// `#[command(flatten)] input: InputArgs`.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Input: a text file of rows, a .npy file, or - for stdin.
    #[arg(default_value = "-", value_name = "FILE")]
    pub input: Source,

    /// Reshape the flat stream of values to this shape (row-major), e.g.
    /// 2,3 or 4x-1 (one -1 is inferred from the count).
    #[arg(long, value_name = "DIMS", allow_hyphen_values = true)]
    pub shape: Option<ShapeSpec>,
}

/// A `--shape` value: dimensions, at most one of them unknown (-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeSpec(Vec<Option<usize>>);

impl FromStr for ShapeSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut dims = Vec::new();
        for part in s.split([',', 'x', 'X']).map(str::trim) {
            if part == "-1" {
                dims.push(None);
            } else {
                dims.push(Some(part.parse::<usize>().map_err(|_| {
                    format!("'{part}' is not a dimension (a count >= 0, or -1)")
                })?));
            }
        }
        if dims.iter().filter(|d| d.is_none()).count() > 1 {
            return Err(format!("'{s}' has more than one -1"));
        }
        Ok(ShapeSpec(dims))
    }
}

impl ShapeSpec {
    /// The concrete shape for `len` values, or an error naming both.
    pub fn resolve(&self, len: usize, source: &Source) -> Result<Vec<usize>> {
        let known: usize = self.0.iter().flatten().product();
        let shown = self
            .0
            .iter()
            .map(|d| d.map_or("-1".to_string(), |d| d.to_string()))
            .collect::<Vec<_>>()
            .join(",");
        let dims: Vec<usize> = if self.0.iter().any(Option::is_none) {
            if known == 0 || (len / known) * known != len {
                bail!("{source}: --shape {shown} does not fit {len} values");
            }
            self.0.iter().map(|d| d.unwrap_or(len / known)).collect()
        } else {
            self.0.iter().flatten().copied().collect()
        };
        let total: usize = dims.iter().product();
        if total != len {
            bail!("{source}: --shape {shown} needs {total} values, found {len}");
        }
        Ok(dims)
    }
}

/// How values are arranged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// A row-major n-d array of this shape.
    Dims(Vec<usize>),
    /// Text rows of unequal lengths (one entry per row).
    Ragged(Vec<usize>),
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layout::Dims(d) => write!(f, "shape {d:?}"),
            Layout::Ragged(lens) => {
                let shown: Vec<String> = lens.iter().take(8).map(|n| n.to_string()).collect();
                let more = if lens.len() > 8 { ", ..." } else { "" };
                write!(f, "rows of lengths [{}{more}]", shown.join(", "))
            }
        }
    }
}

/// Values read from one source, in row-major order.
#[derive(Debug, Clone)]
pub struct Data<T> {
    /// The values.
    pub values: Vec<T>,
    /// Their arrangement.
    pub layout: Layout,
    /// Where they came from (for messages).
    pub source: Source,
}

/// A value type the readers can produce: f32, f64 (numbers) or bool (mask).
pub trait Cell: Copy + Sized {
    /// What a valid token is, for the message "'abc' is not {WHAT}".
    const WHAT: &'static str;
    /// Parses one text token.
    fn parse_token(token: &str) -> Option<Self>;
    /// Reads a `.npy` array of any dtype this cell type accepts.
    fn read_npy(bytes: &[u8], source: &Source) -> Result<ArrayD<Self>>;
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Reads an f64 or f32 `.npy` array; other dtypes are an error naming the dtype.
fn read_float_npy(bytes: &[u8], source: &Source) -> Result<ArrayD<f64>> {
    match ArrayD::<f64>::read_npy(bytes) {
        Ok(a) => Ok(a),
        Err(ReadNpyError::WrongDescriptor(_)) => match ArrayD::<f32>::read_npy(bytes) {
            Ok(a) => Ok(a.mapv(f64::from)),
            Err(ReadNpyError::WrongDescriptor(d)) => Err(anyhow!(
                "{source}: unsupported .npy dtype {d}, expected float32 or float64"
            )),
            Err(e) => Err(anyhow!("{source}: {e}")),
        },
        Err(e) => Err(anyhow!("{source}: {e}")),
    }
}

impl Cell for f64 {
    const WHAT: &'static str = "a number";
    fn parse_token(token: &str) -> Option<Self> {
        token.parse().ok()
    }
    fn read_npy(bytes: &[u8], source: &Source) -> Result<ArrayD<Self>> {
        read_float_npy(bytes, source)
    }
}

impl Cell for f32 {
    const WHAT: &'static str = "a number";
    // Parsed straight to f32 (one correct rounding, not two through f64).
    fn parse_token(token: &str) -> Option<Self> {
        token.parse().ok()
    }
    fn read_npy(bytes: &[u8], source: &Source) -> Result<ArrayD<Self>> {
        // An f64 file is rounded once to f32; an f32 file round-trips exactly.
        Ok(read_float_npy(bytes, source)?.mapv(|v| v as f32))
    }
}

impl Cell for bool {
    const WHAT: &'static str = "a mask value (1, 0, true or false)";
    fn parse_token(token: &str) -> Option<Self> {
        match token.to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        }
    }
    fn read_npy(bytes: &[u8], source: &Source) -> Result<ArrayD<Self>> {
        match ArrayD::<bool>::read_npy(bytes) {
            Ok(a) => Ok(a),
            Err(ReadNpyError::WrongDescriptor(_)) => {
                // Numeric masks: every value must be exactly 0 or 1.
                let a = read_float_npy(bytes, source)
                    .or_else(|_| ArrayD::<u8>::read_npy(bytes).map(|a| a.mapv(f64::from)))
                    .or_else(|_| ArrayD::<i64>::read_npy(bytes).map(|a| a.mapv(|v| v as f64)))
                    .map_err(|_| {
                        anyhow!("{source}: unsupported .npy dtype for a mask, expected bool, 0/1 integers or floats")
                    })?;
                if let Some((i, v)) = a.iter().enumerate().find(|(_, v)| **v != 0.0 && **v != 1.0) {
                    bail!("{source}: element {i} is {v}, a mask holds only 0 and 1");
                }
                Ok(a.mapv(|v| v == 1.0))
            }
            Err(e) => Err(anyhow!("{source}: {e}")),
        }
    }
}

/// Reads `source` as text rows or `.npy`, then applies `shape` if given.
pub fn read<T: Cell>(source: &Source, shape: Option<&ShapeSpec>) -> Result<Data<T>> {
    let bytes = source.read_bytes()?;
    let (values, layout) = if bytes.starts_with(NPY_MAGIC) {
        let a = T::read_npy(&bytes, source)?;
        let dims = a.shape().to_vec();
        // `iter` walks in logical (row-major) order even for Fortran-ordered files.
        (a.iter().copied().collect::<Vec<T>>(), Layout::Dims(dims))
    } else {
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            anyhow!("{source}: line {line}: not UTF-8 text (and not a .npy file)")
        })?;
        parse_text(text, source)?
    };
    let layout = match shape {
        Some(spec) => Layout::Dims(spec.resolve(values.len(), source)?),
        None => layout,
    };
    Ok(Data {
        values,
        layout,
        source: source.clone(),
    })
}

/// Parses text rows; equal lengths give a 2-d layout, unequal ones ragged.
fn parse_text<T: Cell>(text: &str, source: &Source) -> Result<(Vec<T>, Layout)> {
    let mut values = Vec::new();
    let mut lens = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let start = values.len();
        let has_comma = line.contains(',');
        let mut column = 0;
        for field in line.split(',') {
            let mut tokens = field.split_whitespace().peekable();
            if tokens.peek().is_none() && has_comma {
                // "1,,2" or a trailing comma: a missing value, not a separator.
                bail!(
                    "{source}: line {}, column {}: empty field",
                    i + 1,
                    column + 1
                );
            }
            for token in tokens {
                column += 1;
                let v = T::parse_token(token).ok_or_else(|| {
                    anyhow!(
                        "{source}: line {}, column {column}: '{}' is not {}",
                        i + 1,
                        shorten(token),
                        T::WHAT
                    )
                })?;
                values.push(v);
            }
        }
        lens.push(values.len() - start);
    }
    let layout = match lens.first() {
        None => Layout::Dims(vec![0, 0]),
        Some(&n) if lens.iter().all(|&m| m == n) => Layout::Dims(vec![lens.len(), n]),
        Some(_) => Layout::Ragged(lens),
    };
    Ok((values, layout))
}

/// A token cut to a readable length for an error message.
fn shorten(token: &str) -> String {
    const MAX: usize = 40;
    if token.chars().count() <= MAX {
        token.to_string()
    } else {
        format!("{}...", token.chars().take(MAX).collect::<String>())
    }
}

/// Checks that a companion file (mask, weights) has the input's layout.
pub fn check_same_layout<A, B>(what: &str, other: &Data<A>, input: &Data<B>) -> Result<()> {
    if other.layout != input.layout {
        bail!(
            "{}: {what} has {}, but the input {} has {}",
            other.source,
            other.layout,
            input.source,
            input.layout
        );
    }
    Ok(())
}

/// Fails if more than one of the given sources is stdin (it can be read once).
pub fn check_one_stdin<'a>(sources: impl IntoIterator<Item = &'a Source>) -> Result<()> {
    if sources.into_iter().filter(|s| **s == Source::Stdin).count() > 1 {
        bail!("only one input can be - (stdin)");
    }
    Ok(())
}

/// The path of a file source, if any.
#[allow(dead_code)] // for commands that report on files
pub fn path(source: &Source) -> Option<&Path> {
    match source {
        Source::Stdin => None,
        Source::File(p) => Some(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Source {
        Source::File("t.txt".into())
    }

    #[test]
    fn rows_commas_comments_and_specials() {
        let (v, l) = parse_text::<f64>("# header\n1, 2 3\n\n INF -Inf nan # c\n", &src()).unwrap();
        assert_eq!(l, Layout::Dims(vec![2, 3]));
        assert_eq!(&v[..3], &[1.0, 2.0, 3.0]);
        assert_eq!(v[3], f64::INFINITY);
        assert_eq!(v[4], f64::NEG_INFINITY);
        assert!(v[5].is_nan());
    }

    #[test]
    fn ragged_rows() {
        let (_, l) = parse_text::<f64>("1 2\n3\n", &src()).unwrap();
        assert_eq!(l, Layout::Ragged(vec![2, 1]));
    }

    #[test]
    fn errors_name_line_column_token() {
        let e = parse_text::<f64>("1 2\n3 4\n5 abc\n", &src()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.txt: line 3, column 2: 'abc' is not a number"
        );
        let e = parse_text::<f64>("1,,2\n", &src()).unwrap_err();
        assert_eq!(e.to_string(), "t.txt: line 1, column 2: empty field");
        let e = parse_text::<bool>("1 0 2\n", &src()).unwrap_err();
        assert!(e.to_string().contains("column 3: '2' is not a mask value"));
    }

    #[test]
    fn shape_spec() {
        let s: ShapeSpec = "2x-1".parse().unwrap();
        assert_eq!(s.resolve(6, &src()).unwrap(), vec![2, 3]);
        assert!(s.resolve(5, &src()).is_err());
        let s: ShapeSpec = "2,2".parse().unwrap();
        assert!(s.resolve(6, &src()).is_err());
        assert!("-1,-1".parse::<ShapeSpec>().is_err());
        assert!("a".parse::<ShapeSpec>().is_err());
    }
}
