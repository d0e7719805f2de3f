//! The periodic Ising chain, for validation against its transfer matrix.

use super::lattice::Model;
use super::rng::{index, stream_rng, uniform};
use super::stats::{Observables, analyze};
use super::update::Algorithm;
use crate::error::{Error, Result};

/// Simulates the periodic chain of `n >= 3` spins with single-spin
/// updates (Metropolis or heat bath) at `n` randomly chosen sites per sweep,
/// and returns its observables.
///
/// Random sites, not site order: sequential Metropolis on a chain is not
/// ergodic. Zero-cost flips are always accepted, so a domain wall rides
/// along with the sweep and the chain stays trapped near its start
/// (measured: E = -0.85 instead of the exact -0.197 at T = 5).
///
/// ```
/// use boltzmax::learn::ising::{Algorithm, Model, simulate_chain};
/// use boltzmax::learn::ising::exact::chain_transfer_matrix;
/// let model = Model::new(1.0, 0.2, 1.5).unwrap();
/// let obs = simulate_chain(32, model, Algorithm::HeatBath, 500, 20_000, 40, 3).unwrap();
/// let exact = chain_transfer_matrix(32, 1.0, 0.2, 1.5).unwrap();
/// assert!(obs.energy.z_score(exact.energy) < 5.0);
/// ```
pub fn simulate_chain(
    n: usize,
    model: Model,
    algorithm: Algorithm,
    thermalize: usize,
    sweeps: usize,
    blocks: usize,
    seed: u64,
) -> Result<Observables> {
    if n < 3 {
        return Err(Error::InvalidParameter {
            name: "chain length",
            reason: format!("the simulated chain needs n >= 3, got {n}"),
        });
    }
    if algorithm == Algorithm::Wolff {
        return Err(Error::InvalidParameter {
            name: "algorithm",
            reason: "the chain supports metropolis and heat-bath".into(),
        });
    }
    let beta = model.beta();
    // flip[s][k]: neighbour sum 2k - 2.
    let mut flip = [[0.0f64; 3]; 2];
    for (si, row) in flip.iter_mut().enumerate() {
        let s = if si == 0 { -1.0 } else { 1.0 };
        for (k, p) in row.iter_mut().enumerate() {
            let field = model.j * (2.0 * k as f64 - 2.0) + model.h;
            *p = match algorithm {
                Algorithm::Metropolis => (-2.0 * beta * s * field).exp().min(1.0),
                _ => {
                    let p = crate::softmax(&[beta * field, -beta * field]);
                    if s > 0.0 { p[1] } else { p[0] }
                }
            };
        }
    }
    let mut rng = stream_rng(seed, 0);
    let mut spins = vec![1i8; n];
    let mut es = Vec::with_capacity(sweeps);
    let mut ms = Vec::with_capacity(sweeps);
    for sweep in 0..thermalize + sweeps {
        for _ in 0..n {
            let i = index(&mut rng, n);
            let left = spins[(i + n - 1) % n];
            let right = spins[(i + 1) % n];
            let k = ((i32::from(left) + i32::from(right) + 2) / 2) as usize;
            let s = spins[i];
            let p = flip[usize::from(s > 0)][k];
            if p >= 1.0 || uniform(&mut rng) < p {
                spins[i] = -s;
            }
        }
        if sweep >= thermalize {
            let mut b = 0i64;
            let mut m = 0i64;
            for i in 0..n {
                b += i64::from(spins[i]) * i64::from(spins[(i + 1) % n]);
                m += i64::from(spins[i]);
            }
            let nf = n as f64;
            es.push((-model.j * b as f64 - model.h * m as f64) / nf);
            ms.push(m as f64 / nf);
        }
    }
    analyze(&es, &ms, n, model.t, blocks)
}
