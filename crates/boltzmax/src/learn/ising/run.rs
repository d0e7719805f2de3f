//! Whole simulations: one temperature, a parallel temperature sweep, and
//! parallel tempering.

use super::lattice::{Lattice, Model};
use super::msc::PackedLattice;
use super::rng::{stream_rng, uniform};
use super::stats::{Observables, analyze};
use super::update::{Algorithm, Sweeper};
use crate::error::{Error, Result};
use rayon::prelude::*;

/// How long and how to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunConfig {
    /// Lattice side (even, >= 2).
    pub l: usize,
    /// Update rule.
    pub algorithm: Algorithm,
    /// Sweeps discarded before measuring.
    pub thermalize: usize,
    /// Measured sweeps (one measurement per sweep).
    pub sweeps: usize,
    /// Jackknife blocks for the error bars.
    pub blocks: usize,
    /// Seed; run `k` of a sweep uses stream `k` of it, so results do not
    /// depend on the number of threads.
    pub seed: u64,
}

impl RunConfig {
    fn check(&self) -> Result<()> {
        if self.sweeps < self.blocks || self.blocks < 2 {
            return Err(Error::InvalidParameter {
                name: "sweeps",
                reason: format!(
                    "need at least 2 blocks and as many sweeps as blocks, got {} sweeps, {} blocks",
                    self.sweeps, self.blocks
                ),
            });
        }
        Lattice::new(self.l).map(|_| ())
    }
}

/// The result of one run: observables and the last configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Observables with error bars.
    pub observables: Observables,
    /// Per-sweep energy per spin.
    pub energy: Vec<f64>,
    /// Per-sweep magnetisation per spin.
    pub magnetization: Vec<f64>,
    /// The final configuration.
    pub lattice: Lattice,
}

/// The sweeper for `model`; for Wolff, the clusters per sweep are set
/// from the mean cluster size over the first `thermalize` clusters (grown
/// on `lattice`, which they also thermalise) so that a sweep flips about
/// `L^2` spins.
fn calibrated(
    cfg: &RunConfig,
    model: Model,
    lattice: &mut Lattice,
    rng: &mut rand_xoshiro::Xoshiro256PlusPlus,
) -> Result<Sweeper> {
    let sweeper = Sweeper::new(cfg.algorithm, model)?;
    if cfg.algorithm != Algorithm::Wolff || cfg.thermalize == 0 {
        return Ok(sweeper);
    }
    let total: usize = (0..cfg.thermalize)
        .map(|_| sweeper.wolff_cluster(lattice, rng))
        .sum();
    let mean = total as f64 / cfg.thermalize as f64;
    let per_sweep = (lattice.sites() as f64 / mean).round() as usize;
    Ok(sweeper.with_clusters_per_sweep(per_sweep))
}

/// Runs one temperature from an all-up start on random stream `stream` of
/// `cfg.seed`. `progress` is called with the number of sweeps just done
/// (in batches), for progress bars; pass `&|_| {}` for none.
///
/// ```
/// use boltzmax::learn::ising::{Algorithm, Model, RunConfig, simulate};
/// let cfg = RunConfig { l: 4, algorithm: Algorithm::Wolff, thermalize: 100, sweeps: 2000, blocks: 20, seed: 7 };
/// let run = simulate(&cfg, Model::new(1.0, 0.0, 2.0).unwrap(), 0, &|_| {}).unwrap();
/// assert!(run.observables.abs_magnetization.value > 0.8);
/// ```
pub fn simulate(
    cfg: &RunConfig,
    model: Model,
    stream: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Run> {
    cfg.check()?;
    if cfg.algorithm == Algorithm::MultiSpin {
        return simulate_packed(cfg, model, stream, progress);
    }
    let mut rng = stream_rng(cfg.seed, stream);
    let mut lattice = Lattice::new(cfg.l)?;
    let sweeper = calibrated(cfg, model, &mut lattice, &mut rng)?;
    let batch = 1000;
    for i in 0..cfg.thermalize {
        sweeper.sweep(&mut lattice, &mut rng);
        if (i + 1) % batch == 0 {
            progress(batch as u64);
        }
    }
    progress((cfg.thermalize % batch) as u64);
    let mut energy = Vec::with_capacity(cfg.sweeps);
    let mut magnetization = Vec::with_capacity(cfg.sweeps);
    for i in 0..cfg.sweeps {
        sweeper.sweep(&mut lattice, &mut rng);
        let (e, m) = lattice.energy_magnetization(&model);
        energy.push(e);
        magnetization.push(m);
        if (i + 1) % batch == 0 {
            progress(batch as u64);
        }
    }
    progress((cfg.sweeps % batch) as u64);
    let observables = analyze(
        &energy,
        &magnetization,
        lattice.sites(),
        model.t,
        cfg.blocks,
    )?;
    Ok(Run {
        observables,
        energy,
        magnetization,
        lattice,
    })
}

fn simulate_packed(
    cfg: &RunConfig,
    model: Model,
    stream: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Run> {
    let mut rng = stream_rng(cfg.seed, stream);
    let mut lattice = PackedLattice::new(cfg.l)?;
    let table = lattice.metropolis_table(&model)?;
    let mut energy = Vec::with_capacity(cfg.sweeps);
    let mut magnetization = Vec::with_capacity(cfg.sweeps);
    let batch = 100;
    for i in 0..cfg.thermalize + cfg.sweeps {
        lattice.metropolis_sweep(&table, &mut rng);
        if i >= cfg.thermalize {
            let (e, m) = lattice.energy_magnetization(&model);
            energy.push(e);
            magnetization.push(m);
        }
        if (i + 1) % batch == 0 {
            progress(batch as u64);
        }
    }
    progress(((cfg.thermalize + cfg.sweeps) % batch) as u64);
    let observables = analyze(&energy, &magnetization, cfg.l * cfg.l, model.t, cfg.blocks)?;
    Ok(Run {
        observables,
        energy,
        magnetization,
        lattice: lattice.to_lattice(),
    })
}

/// Independent runs at each temperature of `temps`, in parallel (rayon);
/// run `k` uses stream `k`, so the output is the same for any thread
/// count.
pub fn temperature_sweep(
    cfg: &RunConfig,
    j: f64,
    h: f64,
    temps: &[f64],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Run>> {
    let models = temps
        .iter()
        .map(|&t| Model::new(j, h, t))
        .collect::<Result<Vec<_>>>()?;
    models
        .par_iter()
        .enumerate()
        .map(|(k, model)| simulate(cfg, *model, k as u64, progress))
        .collect()
}

/// Parallel tempering results.
#[derive(Debug, Clone, PartialEq)]
pub struct Tempering {
    /// Observables at each temperature (in the order given).
    pub observables: Vec<Observables>,
    /// Fraction of accepted swaps between temperatures `k` and `k + 1`.
    pub swap_rates: Vec<f64>,
}

/// Replica exchange: one replica per temperature, each swept with
/// `cfg.algorithm` (in parallel), then swaps between neighbouring
/// temperatures attempted (even pairs, then odd pairs, alternating) and
/// accepted with probability `min(1, exp((beta_k - beta_{k+1})(E_k -
/// E_{k+1})))`, the Boltzmann rule that keeps the joint distribution.
/// With Wolff, a replica's sweep is one cluster.
///
/// ```
/// use boltzmax::learn::ising::{Algorithm, RunConfig, parallel_tempering};
/// let cfg = RunConfig { l: 8, algorithm: Algorithm::Metropolis, thermalize: 200, sweeps: 2000, blocks: 20, seed: 1 };
/// let pt = parallel_tempering(&cfg, 1.0, 0.0, &[2.0, 2.2, 2.4, 2.6], &|_| {}).unwrap();
/// assert_eq!(pt.swap_rates.len(), 3);
/// assert!(pt.swap_rates.iter().all(|&r| r > 0.05 && r < 1.0));
/// ```
pub fn parallel_tempering(
    cfg: &RunConfig,
    j: f64,
    h: f64,
    temps: &[f64],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Tempering> {
    cfg.check()?;
    if temps.len() < 2 {
        return Err(Error::InvalidParameter {
            name: "temperatures",
            reason: format!("parallel tempering needs at least 2, got {}", temps.len()),
        });
    }
    let sweepers = temps
        .iter()
        .map(|&t| Model::new(j, h, t).and_then(|m| Sweeper::new(cfg.algorithm, m)))
        .collect::<Result<Vec<_>>>()?;
    let nt = temps.len();
    // Slot k holds the replica currently at temperature k, with the
    // generator of slot k (generators stay with temperatures).
    let mut slots: Vec<(Lattice, rand_xoshiro::Xoshiro256PlusPlus)> = (0..nt)
        .map(|k| Ok((Lattice::new(cfg.l)?, stream_rng(cfg.seed, k as u64))))
        .collect::<Result<_>>()?;
    let mut swap_rng = stream_rng(cfg.seed, nt as u64);
    let mut accepted = vec![0u64; nt - 1];
    let mut tried = vec![0u64; nt - 1];
    let mut es = vec![Vec::with_capacity(cfg.sweeps); nt];
    let mut ms = vec![Vec::with_capacity(cfg.sweeps); nt];
    let n = (cfg.l * cfg.l) as f64;
    for round in 0..cfg.thermalize + cfg.sweeps {
        let em: Vec<(f64, f64)> = slots
            .par_iter_mut()
            .zip(&sweepers)
            .map(|((lat, rng), sw)| {
                sw.sweep(lat, rng);
                lat.energy_magnetization(sw.model())
            })
            .collect();
        let mut energies: Vec<f64> = em.iter().map(|p| p.0 * n).collect();
        if round >= cfg.thermalize {
            for k in 0..nt {
                es[k].push(em[k].0);
                ms[k].push(em[k].1);
            }
        }
        let mut k = round % 2;
        while k + 1 < nt {
            let d = (1.0 / temps[k] - 1.0 / temps[k + 1]) * (energies[k] - energies[k + 1]);
            tried[k] += 1;
            if d >= 0.0 || uniform(&mut swap_rng) < d.exp() {
                accepted[k] += 1;
                let (a, b) = slots.split_at_mut(k + 1);
                std::mem::swap(&mut a[k].0, &mut b[0].0);
                energies.swap(k, k + 1);
            }
            k += 2;
        }
        if (round + 1) % 1000 == 0 {
            progress(1000);
        }
    }
    let observables = (0..nt)
        .map(|k| analyze(&es[k], &ms[k], cfg.l * cfg.l, temps[k], cfg.blocks))
        .collect::<Result<Vec<_>>>()?;
    Ok(Tempering {
        observables,
        swap_rates: accepted
            .iter()
            .zip(&tried)
            .map(|(&a, &t)| if t == 0 { 0.0 } else { a as f64 / t as f64 })
            .collect(),
    })
}
