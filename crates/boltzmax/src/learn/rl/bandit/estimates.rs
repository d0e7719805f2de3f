//! Action-value estimates shared by the value-based policies.

use super::check_positive;
use crate::Result;
use crate::learn::rl::fastmath::padded_len;

/// How an estimate moves toward a new reward: `Q += step (R - Q)`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum StepSize {
    /// `step = 1 / N`: the sample mean of the rewards (the default).
    #[default]
    SampleAverage,
    /// A constant `step = alpha` in (0, 1]: an exponential recency-weighted
    /// average, for non-stationary problems.
    Constant(f64),
}

/// Action-value estimates `Q` and pull counts `N` for each arm.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimates {
    /// Padded to [`padded_len`] with `-inf`, so that the batched softmax
    /// reads the estimates in place.
    q: Vec<f64>,
    n: Vec<u64>,
    q0: f64,
    step: StepSize,
}

impl Estimates {
    /// `n_arms` estimates starting at `q0`, learning with `step`.
    pub fn new(n_arms: usize, q0: f64, step: StepSize) -> Result<Self> {
        super::check_arms(n_arms)?;
        if !q0.is_finite() {
            return Err(crate::Error::InvalidParameter {
                name: "q0",
                reason: format!("initial estimate must be finite, got {q0}"),
            });
        }
        if let StepSize::Constant(a) = step {
            check_positive("alpha", a)?;
            super::check_range("alpha", a, 0.0, 1.0)?;
        }
        let mut q = vec![f64::NEG_INFINITY; padded_len(n_arms)];
        q[..n_arms].fill(q0);
        Ok(Estimates {
            q,
            n: vec![0; n_arms],
            q0,
            step,
        })
    }

    /// The estimates `Q`.
    #[inline]
    pub fn values(&self) -> &[f64] {
        &self.q[..self.n.len()]
    }

    /// The estimates followed by `-inf` up to [`padded_len`].
    #[inline]
    pub(crate) fn padded_values(&self) -> &[f64] {
        &self.q
    }

    /// How often each arm was updated.
    #[inline]
    pub fn counts(&self) -> &[u64] {
        &self.n
    }

    /// Moves `Q[arm]` toward `reward` and returns the new value.
    #[inline]
    pub fn update(&mut self, arm: usize, reward: f64) -> f64 {
        self.n[arm] += 1;
        let step = match self.step {
            StepSize::SampleAverage => 1.0 / self.n[arm] as f64,
            StepSize::Constant(a) => a,
        };
        self.q[arm] += step * (reward - self.q[arm]);
        self.q[arm]
    }

    /// Back to the initial state.
    pub fn reset(&mut self) {
        let n = self.n.len();
        self.q[..n].fill(self.q0);
        self.n.fill(0);
    }
}
