//! `boltzmax softmax | log-softmax | logsumexp`: the core functions along
//! one axis of the input (each text row by default).

use anyhow::{Result, anyhow, bail};
use boltzmax::Params;

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

/// The 1-d lanes the function runs along: `(start, stride, len)` in the
/// flat row-major values, in row-major order of the reduced shape, plus
/// the reduced array's shape and the shape its text form is printed in.
struct Lanes {
    lanes: Vec<(usize, usize, usize)>,
    reduced: Vec<usize>,
    reduced_text: Vec<usize>,
}

fn lanes(layout: &Layout, axis: isize, source: &Source) -> Result<Lanes> {
    match layout {
        Layout::Ragged(lens) => {
            if axis != -1 && axis != 1 {
                bail!(
                    "{source}: --axis {axis} needs rows of equal length, got {layout} \
                     (only the rows themselves, --axis -1, can be used)"
                );
            }
            let mut start = 0;
            let lanes = lens
                .iter()
                .map(|&n| {
                    let lane = (start, 1, n);
                    start += n;
                    lane
                })
                .collect();
            Ok(Lanes {
                lanes,
                reduced: vec![lens.len()],
                reduced_text: vec![lens.len(), 1],
            })
        }
        Layout::Dims(d) => {
            let ndim = d.len() as isize;
            let k = if axis < 0 { axis + ndim } else { axis };
            if k < 0 || k >= ndim {
                return Err(anyhow!(
                    "{source}: {}",
                    boltzmax::Error::AxisOutOfRange {
                        axis,
                        ndim: d.len()
                    }
                ));
            }
            let k = k as usize;
            let outer: usize = d[..k].iter().product();
            let n = d[k];
            let inner: usize = d[k + 1..].iter().product();
            let mut lanes = Vec::with_capacity(outer * inner);
            for o in 0..outer {
                for i in 0..inner {
                    lanes.push((o * n * inner + i, inner, n));
                }
            }
            let mut reduced = d.clone();
            reduced.remove(k);
            let mut reduced_text = d.clone();
            reduced_text[k] = 1;
            Ok(Lanes {
                lanes,
                reduced,
                reduced_text,
            })
        }
    }
}

fn gather<T: Copy>(buf: &mut Vec<T>, values: &[T], (start, stride, len): (usize, usize, usize)) {
    buf.clear();
    buf.extend((0..len).map(|j| values[start + j * stride]));
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
    // Everything that can fail on the parameters is checked before any
    // input is read, so a bad -t fails fast even on a large file.
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
    let lanes = lanes(&data.layout, args.axis, &data.source)?;
    let table = match op {
        Op::Softmax | Op::LogSoftmax => elementwise(op, &data, mask.as_deref(), &lanes, &params)?,
        Op::Logsumexp { return_sign } => reduce(
            &data,
            mask.as_deref(),
            weights.as_deref(),
            return_sign,
            &lanes,
            &params,
        )?,
    };
    let bytes = table.render(args.output.format())?;
    args.output.write(&bytes)
}

fn elementwise<F: Number>(
    op: Op,
    data: &Data<F>,
    mask: Option<&[bool]>,
    lanes: &Lanes,
    params: &Params<F>,
) -> Result<Table<F>> {
    let mut out = vec![F::ZERO; data.values.len()];
    let (mut xb, mut mb, mut ob) = (Vec::new(), Vec::new(), Vec::new());
    for &lane in &lanes.lanes {
        gather(&mut xb, &data.values, lane);
        ob.clear();
        ob.resize(xb.len(), F::ZERO);
        match (op, mask) {
            (Op::Softmax, None) => boltzmax::softmax_into(&mut ob, &xb, params)?,
            (Op::LogSoftmax, None) => boltzmax::log_softmax_into(&mut ob, &xb, params)?,
            (Op::Softmax, Some(m)) => {
                gather(&mut mb, m, lane);
                boltzmax::softmax_masked_into(&mut ob, &xb, &mb, params)?
            }
            (Op::LogSoftmax, Some(m)) => {
                gather(&mut mb, m, lane);
                boltzmax::log_softmax_masked_into(&mut ob, &xb, &mb, params)?
            }
            (Op::Logsumexp { .. }, _) => unreachable!("reductions go through reduce()"),
        }
        let (start, stride, _) = lane;
        for (j, &v) in ob.iter().enumerate() {
            out[start + j * stride] = v;
        }
    }
    Ok(Table::new(out, data.layout.clone()))
}

fn reduce<F: Number>(
    data: &Data<F>,
    mask: Option<&[bool]>,
    weights: Option<&[F]>,
    return_sign: bool,
    lanes: &Lanes,
    params: &Params<F>,
) -> Result<Table<F>> {
    let per = if return_sign { 2 } else { 1 };
    let mut out = Vec::with_capacity(lanes.lanes.len() * per);
    let (mut xb, mut mb, mut wb) = (Vec::new(), Vec::new(), Vec::new());
    for &lane in &lanes.lanes {
        gather(&mut xb, &data.values, lane);
        if weights.is_some() || return_sign {
            // The weighted form ignores entries whose weight is 0 whatever
            // they hold, which is exactly what a mask means.
            match weights {
                Some(w) => gather(&mut wb, w, lane),
                None => {
                    wb.clear();
                    wb.resize(xb.len(), F::ONE);
                }
            }
            if let Some(m) = mask {
                gather(&mut mb, m, lane);
                for (w, &keep) in wb.iter_mut().zip(&mb) {
                    if !keep {
                        *w = F::ZERO;
                    }
                }
            }
            let r = boltzmax::logsumexp_weighted(&xb, &wb, params)?;
            out.push(r.log_abs);
            if return_sign {
                out.push(r.sign);
            }
        } else if let Some(m) = mask {
            gather(&mut mb, m, lane);
            out.push(boltzmax::logsumexp_masked(&xb, &mb, params)?);
        } else {
            out.push(boltzmax::logsumexp_with(&xb, params));
        }
    }
    let mut shape = lanes.reduced.clone();
    let mut text = lanes.reduced_text.clone();
    if return_sign {
        shape.push(2);
        // The pair replaces the kept length-1 axis on each text line.
        if let Some(last) = text.last_mut() {
            if *last == 1 {
                *last = 2;
            } else {
                text.push(2);
            }
        }
    }
    Ok(Table::with_text_shape(out, Layout::Dims(shape), &text))
}
