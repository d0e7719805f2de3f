//! Gumbel-max: a categorical draw in one pass, without normalising.

use rand::Rng;

use super::rng::gumbel;
use crate::error::{Error, Result};
use crate::params::{Params, Scaling};
use crate::real::Real;

/// How two candidates' keys `z_i + g_i` are compared without forming
/// `z_i = scale(x_i)` itself, which can overflow (a tiny temperature) or
/// lose the noise (a logit so large that `x/T + g` rounds to `x/T`).
///
/// Candidate `i` beats the best `b` when `scale(x_i - x_b) > g_b - g_i`.
/// Each branch keeps both sides finite and unscaled where possible: for
/// `T < 1` it multiplies the noise by `T` instead of dividing the logit
/// gap by `T`.
#[derive(Clone, Copy)]
enum Compare {
    /// `(d) / t > dg`, for `t >= 1` (and `t = 1`).
    DivGap(f64),
    /// `d > t * dg`, for `t < 1`.
    MulNoise(f64),
    /// `b * d > dg`, for `0 < |b| <= 1`.
    MulGap(f64),
    /// `sign(b) * d > dg / |b|`, for `|b| > 1`.
    DivNoise(f64, f64),
    /// `beta = 0`: only the noise counts.
    NoiseOnly,
}

impl Compare {
    fn new<F: Real>(scaling: Scaling<F>) -> Self {
        match scaling {
            Scaling::One => Compare::DivGap(1.0),
            Scaling::Div(t) => {
                let t = t.to_f64();
                if t >= 1.0 {
                    Compare::DivGap(t)
                } else {
                    Compare::MulNoise(t)
                }
            }
            Scaling::Mul(b) => {
                let b = b.to_f64();
                if b.abs() <= 1.0 {
                    Compare::MulGap(b)
                } else {
                    Compare::DivNoise(b.signum(), b.abs())
                }
            }
            Scaling::Uniform => Compare::NoiseOnly,
        }
    }

    /// True when (gap `d = x_i - x_b`, noise gap `dg = g_b - g_i`) puts
    /// candidate `i` strictly ahead.
    #[inline(always)]
    fn wins(self, d: f64, dg: f64) -> bool {
        match self {
            Compare::DivGap(t) => d / t > dg,
            Compare::MulNoise(t) => d > t * dg,
            Compare::MulGap(b) => b * d > dg,
            Compare::DivNoise(s, a) => s * d > dg / a,
            Compare::NoiseOnly => 0.0 > dg,
        }
    }
}

/// One draw from `softmax(logits / T)` by the Gumbel-max trick:
/// `argmax_i (z_i + g_i)` with `g_i` standard Gumbel noise, in one pass
/// over the logits and without computing a single exponential or the
/// normaliser.
///
/// Randomness: exactly one `u64` is taken from `rng` per logit, in index
/// order, whatever the logits hold (so a row's draw uses the same stream
/// positions for every input), and turned into Gumbel noise through the
/// 53-bit open-interval uniform [`super::open01`], so the noise is never
/// infinite and its tails are cut only at probability 2^-53.
///
/// Exactly tied logits are separated by their noise (each equally likely,
/// at any temperature, even where `T` is so small that `x/T + g` would
/// round the noise away); keys equal after rounding go to the lowest index.
/// One +inf logit is always drawn; a NaN logit, an empty row, a row of
/// only -inf, and two +inf logits are errors, as for [`super::Categorical`]
/// (with a negative beta, read -inf for +inf). With `beta = 0` every
/// logit is equally likely.
///
/// Value stability: for a given generator state and logits the result is
/// fixed across platforms and boltzmax 0.x releases, up to the last bit of
/// `ln` in the platform's libm, which can change a draw only when two keys
/// are within rounding of each other.
///
/// ```
/// use boltzmax::Params;
/// use boltzmax::sample::{gumbel_max, stream_rng};
///
/// let mut rng = stream_rng(1, 0);
/// let i = gumbel_max(&[0.0_f64, 1.0, 2.0], &Params::default(), &mut rng).unwrap();
/// assert!(i < 3);
/// assert_eq!(gumbel_max(&[0.0_f32, f32::INFINITY], &Params::default(), &mut rng), Ok(1));
/// assert!(gumbel_max(&[f32::NAN, 0.0], &Params::default(), &mut rng).is_err());
/// ```
pub fn gumbel_max<F: Real, R: Rng + ?Sized>(
    logits: &[F],
    params: &Params<F>,
    rng: &mut R,
) -> Result<usize> {
    let scaling = params.scale.scaling();
    let cmp = Compare::new(scaling);
    let uniform = matches!(cmp, Compare::NoiseOnly);
    // With a negative beta the smallest logit is the most likely.
    let (top, bottom) = if scaling.shifts_by_min() {
        (F::NEG_INFINITY, F::INFINITY)
    } else {
        (F::INFINITY, F::NEG_INFINITY)
    };
    let mut best: Option<(usize, f64, f64)> = None;
    let mut nan = None;
    let mut tops = [usize::MAX; 2];
    let mut n_tops = 0usize;
    for (i, &x) in logits.iter().enumerate() {
        let g = gumbel(rng);
        if x.is_nan() {
            nan.get_or_insert(i);
            continue;
        }
        if !uniform {
            if x == top {
                if n_tops < 2 {
                    tops[n_tops] = i;
                }
                n_tops += 1;
                continue;
            }
            if x == bottom {
                continue;
            }
        }
        let x = x.to_f64();
        match best {
            None => best = Some((i, x, g)),
            Some((_, xb, gb)) => {
                if cmp.wins(x - xb, gb - g) {
                    best = Some((i, x, g));
                }
            }
        }
    }
    if let Some(index) = nan {
        return Err(Error::NanLogit { index });
    }
    match n_tops {
        0 => {}
        1 => return Ok(tops[0]),
        _ => {
            return Err(Error::NothingToSample {
                reason: format!(
                    "logits {} and {} are both {top}: their probabilities are undefined",
                    tops[0], tops[1]
                ),
            });
        }
    }
    best.map(|(i, _, _)| i)
        .ok_or_else(|| Error::NothingToSample {
            reason: if logits.is_empty() {
                "the row is empty".into()
            } else {
                format!("every logit is {bottom}")
            },
        })
}
