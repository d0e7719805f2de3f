//! Why a row cannot be sampled: one diagnosis shared by every sampler.

use crate::error::Error;
use crate::params::Scaling;
use crate::real::Real;

/// The error for a row whose softmax is undefined (the core returned NaN):
/// empty, a NaN logit, nothing kept, every kept logit at the bottom of the
/// scaled range, or several at its top.
pub(crate) fn diagnose<F: Real>(logits: &[F], mask: Option<&[bool]>, scaling: Scaling<F>) -> Error {
    if logits.is_empty() {
        return nothing("the row is empty".into());
    }
    let kept = |i: usize| mask.is_none_or(|m| m[i]);
    if let Some(index) = (0..logits.len()).find(|&i| kept(i) && logits[i].is_nan()) {
        return Error::NanLogit { index };
    }
    if !(0..logits.len()).any(kept) {
        return nothing("every entry is masked out".into());
    }
    let (top, bottom) = if scaling.shifts_by_min() {
        (F::NEG_INFINITY, "+inf")
    } else {
        (F::INFINITY, "-inf")
    };
    let tops: Vec<usize> = (0..logits.len())
        .filter(|&i| kept(i) && logits[i] == top)
        .take(2)
        .collect();
    if tops.len() > 1 {
        return nothing(format!(
            "logits {} and {} are both {top}: their probabilities are undefined",
            tops[0], tops[1]
        ));
    }
    nothing(format!("every kept logit is {bottom}"))
}

fn nothing(reason: String) -> Error {
    Error::NothingToSample { reason }
}
