//! Temperature sweeps: the same ensemble at many temperatures, in parallel.
//!
//! Every point is computed from the moments at its own temperature (heat
//! capacities are variances, their slopes third cumulants), never by
//! finite differences between neighbouring points. Each temperature is
//! one independent, sequential computation, so the results are bitwise
//! the same for any number of threads.
//!
//! ```
//! use boltzmax::nd::Par;
//! use boltzmax::thermo::{Constants, EnergyUnit, Ensemble, Sweep, Units};
//!
//! let units = Units::new(EnergyUnit::Kelvin, Constants::CODATA2018);
//! let two_level = Ensemble::new(vec![0.0, 1.0], units)?;
//! let sweep = Sweep::linear(0.1, 2.0, 0.1)?;
//! assert_eq!(sweep.len(), 20);
//! let points = two_level.sweep(&sweep, Par::Threads(0))?;
//! assert_eq!(points.len(), 20);
//! # Ok::<(), boltzmax::Error>(())
//! ```

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::nd::Par;
use crate::params::Temperature;
use crate::thermo::ensemble::{Ensemble, Thermo};

/// The most temperatures one sweep may hold.
pub const MAX_SWEEP_POINTS: usize = 10_000_000;

/// A list of temperatures (K), each finite and > 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    temperatures: Vec<f64>,
}

fn bad(reason: String) -> Error {
    Error::InvalidParameter {
        name: "sweep",
        reason,
    }
}

impl Sweep {
    /// `start, start + step, ...` up to `stop` (included when it lies on
    /// the grid, to within 1e-9 of a step). Each point is `start + k step`,
    /// computed by one multiplication, so no rounding accumulates.
    pub fn linear(start: f64, stop: f64, step: f64) -> Result<Sweep> {
        Temperature::new(start)?;
        Temperature::new(stop)?;
        if !(step.is_finite() && step > 0.0) {
            return Err(bad(format!("step must be finite and > 0, got {step}")));
        }
        if stop < start {
            return Err(bad(format!("stop {stop} is below start {start}")));
        }
        let n = ((stop - start) / step + 1e-9).floor();
        if n + 1.0 > MAX_SWEEP_POINTS as f64 {
            return Err(bad(format!(
                "{} points is more than {MAX_SWEEP_POINTS}",
                n + 1.0
            )));
        }
        let n = n as usize;
        Ok(Sweep {
            temperatures: (0..=n).map(|k| start + k as f64 * step).collect(),
        })
    }

    /// `n` temperatures evenly spaced in `ln T` from `start` to `stop`
    /// (both included exactly; `n >= 2`, or `n = 1` with `start == stop`).
    pub fn log(start: f64, stop: f64, n: usize) -> Result<Sweep> {
        Temperature::new(start)?;
        Temperature::new(stop)?;
        if stop < start {
            return Err(bad(format!("stop {stop} is below start {start}")));
        }
        if n == 0 || n > MAX_SWEEP_POINTS || (n == 1 && start != stop) {
            return Err(bad(format!(
                "a log sweep from {start} to {stop} needs between 2 and {MAX_SWEEP_POINTS} points, got {n}"
            )));
        }
        if n == 1 {
            return Ok(Sweep {
                temperatures: vec![start],
            });
        }
        let (a, b) = (start.ln(), stop.ln());
        let h = (b - a) / (n - 1) as f64;
        let mut temperatures: Vec<f64> = (0..n).map(|k| (a + k as f64 * h).exp()).collect();
        temperatures[0] = start;
        temperatures[n - 1] = stop;
        Ok(Sweep { temperatures })
    }

    /// Given temperatures (each finite and > 0), in the given order.
    pub fn from_temperatures(temperatures: Vec<f64>) -> Result<Sweep> {
        if temperatures.is_empty() {
            return Err(bad("no temperatures".to_string()));
        }
        for &t in &temperatures {
            Temperature::new(t)?;
        }
        Ok(Sweep { temperatures })
    }

    /// The temperatures in K.
    pub fn temperatures(&self) -> &[f64] {
        &self.temperatures
    }

    /// The number of temperatures (at least 1).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.temperatures.len()
    }
}

impl Ensemble {
    /// [`Ensemble::at`] every temperature of the sweep, in order. Under
    /// [`Par::Threads`] the temperatures are shared among rayon's global
    /// pool (`Threads(0)`: all its threads, `Threads(n)`: at most `n`
    /// chunks); the results do not depend on the choice.
    pub fn sweep(&self, sweep: &Sweep, par: Par) -> Result<Vec<Thermo>> {
        let ts = sweep.temperatures();
        match par {
            Par::Seq => ts.iter().map(|&t| self.at(t)).collect(),
            Par::Threads(n) => {
                let min_len = if n == 0 { 1 } else { ts.len().div_ceil(n) };
                ts.par_iter()
                    .with_min_len(min_len.max(1))
                    .map(|&t| self.at(t))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids() {
        let s = Sweep::linear(100.0, 400.0, 50.0).unwrap();
        assert_eq!(
            s.temperatures(),
            &[100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0]
        );
        // 0.1 steps: stop included although 0.1 is not exact in binary.
        assert_eq!(Sweep::linear(0.1, 1.0, 0.1).unwrap().len(), 10);
        let l = Sweep::log(1.0, 1000.0, 4).unwrap();
        assert_eq!(l.temperatures()[0], 1.0);
        assert_eq!(l.temperatures()[3], 1000.0);
        assert!((l.temperatures()[1] - 10.0).abs() < 1e-12);
        assert!(Sweep::linear(0.0, 1.0, 0.1).is_err());
        assert!(Sweep::linear(2.0, 1.0, 0.1).is_err());
        assert!(Sweep::linear(1.0, 2.0, 0.0).is_err());
        assert!(Sweep::log(1.0, 2.0, 1).is_err());
        assert!(Sweep::from_temperatures(vec![300.0, f64::NAN]).is_err());
    }
}
