//! `boltzmax softmax | log-softmax | logsumexp`: the core functions along
//! one axis of the input (each text row by default).

use anyhow::{Result, anyhow, bail};
use boltzmax::Params;
use boltzmax::nd::{self, Par};
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::input::{self, Cell, Data, InputArgs, Layout, Source};
use crate::output::{Number, OutputArgs, Table};
use crate::scale::{Dtype, ScaleArgs};

/// Options of `softmax` and `log-softmax`.
#[derive(Debug, clap::Args)]
pub struct RowArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub scale: ScaleArgs,

    /// Axis to work along (negative counts from the last). Text rows of
    /// equal length are a 2-d array, so --axis 0 works down the columns.
    #[arg(long, short = 'a', default_value_t = -1, allow_negative_numbers = true)]
    pub axis: isize,

    /// Threads for arrays of 2^18 values or more (0: all cores). Results
    /// are bitwise the same for any count.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,

    /// Keep only the entries where FILE holds 1/true (same layout as the
    /// input; 0/false entries are ignored, even NaN or inf).
    #[arg(long, value_name = "FILE")]
    pub mask: Option<Source>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options of `logsumexp`.
#[derive(Debug, clap::Args)]
pub struct LogsumexpArgs {
    #[command(flatten)]
    pub rows: RowArgs,

    /// scipy-style weights b: ln |sum b_i exp(x_i / T)| (same layout as
    /// the input; b_i = 0 ignores x_i).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<Source>,

    /// Also print the sign of the sum (-1, 0 or 1): each result becomes a
    /// pair (ln |sum|, sign), a trailing axis of length 2.
    #[arg(long)]
    pub return_sign: bool,
}

/// Which function to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// softmax along the axis.
    Softmax,
    /// log-softmax along the axis.
    LogSoftmax,
    /// logsumexp, reducing the axis.
    Logsumexp {
        /// Output (ln |sum|, sign) pairs.
        return_sign: bool,
    },
}

/// Runs `op` with the shared row options (and weights for logsumexp).
pub fn run(op: Op, args: &RowArgs, weights: Option<&Source>) -> Result<()> {
    match args.scale.dtype {
        Dtype::F64 => run_typed::<f64>(op, args, weights),
        Dtype::F32 => run_typed::<f32>(op, args, weights),
    }
}

/// Runs the `logsumexp` subcommand.
pub fn run_logsumexp(args: &LogsumexpArgs) -> Result<()> {
    run(
        Op::Logsumexp {
            return_sign: args.return_sign,
        },
        &args.rows,
        args.weights.as_ref(),
    )
}

fn run_typed<F: Number + Cell + std::str::FromStr>(
    op: Op,
    args: &RowArgs,
    weights: Option<&Source>,
) -> Result<()> {
    let shape = args.input.shape.as_ref();
    input::check_one_stdin(
        std::iter::once(&args.input.input)
            .chain(args.mask.as_ref())
            .chain(weights),
    )?;
    // The parameters are checked before any input is read, so a bad -t
    // fails fast even on a large file.
    let params = args.scale.params::<F>()?;
    let data: Data<F> = input::read(&args.input.input, shape)?;
    let mask = match &args.mask {
        Some(m) => {
            let mask: Data<bool> = input::read(m, shape)?;
            input::check_same_layout("the mask", &mask, &data)?;
            Some(mask.values)
        }
        None => None,
    };
    let weights = match weights {
        Some(w) => {
            let w: Data<F> = input::read(w, shape)?;
            input::check_same_layout("the weights", &w, &data)?;
            Some(w.values)
        }
        None => None,
    };
    let par = match args.threads {
        1 => Par::Seq,
        n => Par::Threads(n),
    };
    let inputs = Inputs {
        x: &data.values,
        mask: mask.as_deref(),
        weights: weights.as_deref(),
        params: &params,
    };
    let table = match &data.layout {
        Layout::Ragged(lens) => {
            if args.axis != -1 && args.axis != 1 {
                bail!(
                    "{}: --axis {} needs rows of equal length, got {} \
                     (only the rows themselves, --axis -1, can be used)",
                    data.source,
                    args.axis,
                    data.layout
                );
            }
            ragged(op, &inputs, lens)?
        }
        Layout::Dims(d) => {
            array(op, &inputs, d, args.axis, par).map_err(|e| anyhow!("{}: {e}", data.source))?
        }
    };
    let bytes = table.render(args.output.format())?;
    args.output.write(&bytes)
}

/// The input values and their companions, all in the same row-major layout.
struct Inputs<'a, F> {
    x: &'a [F],
    mask: Option<&'a [bool]>,
    weights: Option<&'a [F]>,
    params: &'a Params<F>,
}

/// The weights logsumexp uses when a sign is asked for or a mask and
/// weights are combined: the given weights (or ones), zeroed where the
/// mask is false. The weighted form ignores entries whose weight is 0
/// whatever they hold, which is exactly what a mask means.
fn effective_weights<F: Number>(inputs: &Inputs<'_, F>) -> Vec<F> {
    let mut b = match inputs.weights {
        Some(w) => w.to_vec(),
        None => vec![F::ONE; inputs.x.len()],
    };
    if let Some(m) = inputs.mask {
        for (w, &keep) in b.iter_mut().zip(m) {
            if !keep {
                *w = F::ZERO;
            }
        }
    }
    b
}

/// Whether logsumexp needs the weighted (signed) form.
fn weighted(op: Op, inputs: &Inputs<'_, impl Number>) -> bool {
    matches!(op, Op::Logsumexp { return_sign: true }) || inputs.weights.is_some()
}

/// The shape a reduction prints in as text: the input's with the reduced
/// axis kept at length 1 (so each text row's result stays on its line),
/// and with a sign, the pair in place of that 1 or as a last axis.
fn reduced_text_shape(dims: &[usize], k: usize, return_sign: bool) -> Vec<usize> {
    let mut text = dims.to_vec();
    text[k] = 1;
    if return_sign {
        match text.last_mut() {
            Some(last) if *last == 1 => *last = 2,
            _ => text.push(2),
        }
    }
    text
}

/// Text rows of unequal lengths: each row through the slice functions.
fn ragged<F: Number>(op: Op, inputs: &Inputs<'_, F>, lens: &[usize]) -> Result<Table<F>> {
    let p = inputs.params;
    let b = weighted(op, inputs).then(|| effective_weights(inputs));
    let mut out = Vec::with_capacity(inputs.x.len());
    let mut start = 0;
    for &n in lens {
        let r = start..start + n;
        start += n;
        let (x, m) = (&inputs.x[r.clone()], inputs.mask.map(|m| &m[r.clone()]));
        match (op, m) {
            (Op::Softmax, None) => out.extend(boltzmax::softmax_with(x, p)),
            (Op::Softmax, Some(m)) => out.extend(boltzmax::softmax_masked(x, m, p)?),
            (Op::LogSoftmax, None) => out.extend(boltzmax::log_softmax_with(x, p)),
            (Op::LogSoftmax, Some(m)) => out.extend(boltzmax::log_softmax_masked(x, m, p)?),
            (Op::Logsumexp { return_sign }, m) => match (&b, m) {
                (Some(b), _) => {
                    let s = boltzmax::logsumexp_weighted(x, &b[r], p)?;
                    out.push(s.log_abs);
                    if return_sign {
                        out.push(s.sign);
                    }
                }
                (None, Some(m)) => out.push(boltzmax::logsumexp_masked(x, m, p)?),
                (None, None) => out.push(boltzmax::logsumexp_with(x, p)),
            },
        }
    }
    Ok(match op {
        Op::Logsumexp { return_sign } => {
            let mut shape = vec![lens.len()];
            if return_sign {
                shape.push(2);
            }
            let text = reduced_text_shape(&[lens.len(), 0], 1, return_sign);
            Table::with_text_shape(out, Layout::Dims(shape), &text)
        }
        _ => Table::new(out, Layout::Ragged(lens.to_vec())),
    })
}

/// An n-d array: `boltzmax::nd` along `axis`.
fn array<F: Number>(
    op: Op,
    inputs: &Inputs<'_, F>,
    dims: &[usize],
    axis: isize,
    par: Par,
) -> boltzmax::Result<Table<F>> {
    let p = inputs.params;
    let view = |v| ArrayViewD::from_shape(IxDyn(dims), v).expect("layouts were checked");
    let x = view(inputs.x);
    let m = inputs
        .mask
        .map(|m| ArrayViewD::from_shape(IxDyn(dims), m).expect("layouts were checked"));
    let flat = |a: ArrayD<F>| -> Vec<F> { a.iter().copied().collect() };
    let values = match (op, m) {
        (Op::Softmax, None) => flat(nd::softmax(x, axis, p, par)?),
        (Op::Softmax, Some(m)) => flat(nd::softmax_masked(x, m, axis, p, par)?),
        (Op::LogSoftmax, None) => flat(nd::log_softmax(x, axis, p, par)?),
        (Op::LogSoftmax, Some(m)) => flat(nd::log_softmax_masked(x, m, axis, p, par)?),
        (Op::Logsumexp { return_sign }, m) => {
            let v = if weighted(op, inputs) {
                let b = effective_weights(inputs);
                let s = nd::logsumexp_weighted(x, view(&b), axis, p, par)?;
                if return_sign {
                    s.log_abs
                        .iter()
                        .zip(&s.sign)
                        .flat_map(|(&l, &s)| [l, s])
                        .collect()
                } else {
                    flat(s.log_abs)
                }
            } else if let Some(m) = m {
                flat(nd::logsumexp_masked(x, m, axis, p, par)?)
            } else {
                flat(nd::logsumexp(x, axis, p, par)?)
            };
            // nd has validated the axis.
            let k = if axis < 0 {
                axis + dims.len() as isize
            } else {
                axis
            } as usize;
            let mut shape = dims.to_vec();
            shape.remove(k);
            if return_sign {
                shape.push(2);
            }
            let text = reduced_text_shape(dims, k, return_sign);
            return Ok(Table::with_text_shape(v, Layout::Dims(shape), &text));
        }
    };
    Ok(Table::new(values, Layout::Dims(dims.to_vec())))
}
