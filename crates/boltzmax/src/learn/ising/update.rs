//! Markov-chain updates of the square lattice: checkerboard Metropolis,
//! checkerboard heat bath (Glauber), and Wolff clusters.

use super::lattice::{Lattice, Model};
use super::rng::{index, uniform};
use crate::error::{Error, Result};
use rand::RngCore;

/// Which Markov chain moves the spins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Single-spin Metropolis: flip with probability `min(1, exp(-dE/T))`,
    /// the sites of one checkerboard colour at a time.
    Metropolis,
    /// Heat bath (Glauber): set the spin from the two-state Boltzmann
    /// distribution of its local field `J n + h`, that is
    /// `softmax([(J n + h)/T, -(J n + h)/T])`, one colour at a time.
    HeatBath,
    /// Wolff's single-cluster algorithm (h = 0, J > 0 only): grow a
    /// cluster of aligned spins with bond probability `1 - exp(-2J/T)` and
    /// flip it. One sweep is a fixed number of clusters
    /// ([`Sweeper::with_clusters_per_sweep`]; [`super::simulate`] picks it
    /// during thermalisation so that a sweep flips about `L^2` spins).
    ///
    /// The number must not depend on the clusters just grown: stopping
    /// "once `L^2` spins have flipped" measures at a state-dependent time,
    /// which favours the large clusters of ordered states (measured: E
    /// 150 standard errors too low at L = 8, T = 1.5).
    Wolff,
    /// Checkerboard Metropolis, multi-spin coded: 64 spins per word
    /// ([`super::PackedLattice`]); the same Markov chain as
    /// [`Algorithm::Metropolis`] in distribution, for `h = 0` and `L` a
    /// multiple of 128. Runs through [`super::simulate`] only.
    MultiSpin,
}

impl Algorithm {
    /// Lower-case name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Metropolis => "metropolis",
            Algorithm::HeatBath => "heat-bath",
            Algorithm::Wolff => "wolff",
            Algorithm::MultiSpin => "multispin",
        }
    }
}

/// An update rule bound to a model: the flip probabilities, tabulated
/// once for the five possible neighbour sums and two spin values.
///
/// ```
/// use boltzmax::learn::ising::{Algorithm, Lattice, Model, Sweeper};
/// use rand::SeedableRng;
/// let model = Model::new(1.0, 0.0, 2.0).unwrap();
/// let sweeper = Sweeper::new(Algorithm::HeatBath, model).unwrap();
/// let mut lattice = Lattice::new(8).unwrap();
/// let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
/// for _ in 0..100 {
///     sweeper.sweep(&mut lattice, &mut rng);
/// }
/// let (e, _m) = lattice.energy_magnetization(&model);
/// assert!(e < -1.0); // ordered at T = 2 < T_c
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sweeper {
    algorithm: Algorithm,
    model: Model,
    /// `flip[s][k]`: probability to flip spin `s` (0 for -1, 1 for +1)
    /// whose neighbours sum to `2k - 4`.
    flip: [[f64; 5]; 2],
    /// Wolff's bond probability.
    p_add: f64,
    /// Wolff clusters per sweep.
    clusters: usize,
}

impl Sweeper {
    /// Tabulates the rule; Wolff needs `h = 0` and `J > 0`;
    /// [`Algorithm::MultiSpin`] is an error here (it has its own lattice,
    /// [`super::PackedLattice`]).
    pub fn new(algorithm: Algorithm, model: Model) -> Result<Sweeper> {
        if algorithm == Algorithm::MultiSpin {
            return Err(Error::InvalidParameter {
                name: "algorithm",
                reason: "multispin runs on PackedLattice, not Sweeper".into(),
            });
        }
        let beta = model.beta();
        let mut flip = [[0.0; 5]; 2];
        for (si, row) in flip.iter_mut().enumerate() {
            let s = if si == 0 { -1.0 } else { 1.0 };
            for (k, p) in row.iter_mut().enumerate() {
                let field = model.j * (2.0 * k as f64 - 4.0) + model.h;
                *p = match algorithm {
                    Algorithm::Metropolis => (-beta * 2.0 * s * field).exp().min(1.0),
                    // The heat bath is the two-state softmax of the local
                    // field; the flip probability is the mass of -s.
                    _ => {
                        let p = crate::softmax(&[beta * field, -beta * field]);
                        if s > 0.0 { p[1] } else { p[0] }
                    }
                };
            }
        }
        if algorithm == Algorithm::Wolff && (model.h != 0.0 || model.j <= 0.0) {
            return Err(Error::InvalidParameter {
                name: "algorithm",
                reason: format!(
                    "Wolff clusters need h = 0 and J > 0, got h = {}, J = {}",
                    model.h, model.j
                ),
            });
        }
        Ok(Sweeper {
            algorithm,
            model,
            flip,
            p_add: -(-2.0 * beta * model.j).exp_m1(),
            clusters: 1,
        })
    }

    /// Sets the number of Wolff clusters in one sweep (at least 1; the
    /// other algorithms ignore it).
    pub fn with_clusters_per_sweep(mut self, clusters: usize) -> Sweeper {
        self.clusters = clusters.max(1);
        self
    }

    /// Wolff clusters per sweep.
    pub fn clusters_per_sweep(&self) -> usize {
        self.clusters
    }

    /// Grows and flips one Wolff cluster; returns its size. Used to
    /// calibrate [`Self::with_clusters_per_sweep`].
    pub fn wolff_cluster<R: RngCore + ?Sized>(&self, lattice: &mut Lattice, rng: &mut R) -> usize {
        let mut stack = Vec::new();
        self.cluster(lattice, &mut stack, rng)
    }

    /// The model the tables were built for.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// One sweep: every site visited once (Metropolis, heat bath), or
    /// [`Self::clusters_per_sweep`] clusters (Wolff). Returns the number of
    /// spins flipped.
    pub fn sweep<R: RngCore + ?Sized>(&self, lattice: &mut Lattice, rng: &mut R) -> usize {
        match self.algorithm {
            Algorithm::Metropolis | Algorithm::HeatBath | Algorithm::MultiSpin => {
                self.colour(lattice, 0, rng) + self.colour(lattice, 1, rng)
            }
            Algorithm::Wolff => {
                let mut stack = Vec::with_capacity(lattice.sites());
                (0..self.clusters)
                    .map(|_| self.cluster(lattice, &mut stack, rng))
                    .sum()
            }
        }
    }

    /// Updates the sites with `(r + c) % 2 == colour`; they have no
    /// neighbours among themselves, so the order within a colour is
    /// immaterial and each half sweep satisfies detailed balance.
    fn colour<R: RngCore + ?Sized>(
        &self,
        lattice: &mut Lattice,
        colour: usize,
        rng: &mut R,
    ) -> usize {
        let l = lattice.side();
        let mut flipped = 0;
        for r in 0..l {
            let mut c = (r + colour) % 2;
            while c < l {
                let i = r * l + c;
                let s = lattice.spins()[i];
                let k = ((lattice.neighbour_sum(r, c) + 4) / 2) as usize;
                let p = self.flip[usize::from(s > 0)][k];
                // Draw only when the move can be refused.
                if p >= 1.0 || uniform(rng) < p {
                    lattice.spins_mut()[i] = -s;
                    flipped += 1;
                }
                c += 2;
            }
        }
        flipped
    }

    /// Grows and flips one Wolff cluster from a random seed; returns its
    /// size. Spins are flipped as they join, so a flipped spin can never
    /// be added twice.
    fn cluster<R: RngCore + ?Sized>(
        &self,
        lattice: &mut Lattice,
        stack: &mut Vec<usize>,
        rng: &mut R,
    ) -> usize {
        let l = lattice.side();
        let seed = index(rng, lattice.sites());
        let s0 = lattice.spins()[seed];
        let spins = lattice.spins_mut();
        spins[seed] = -s0;
        stack.clear();
        stack.push(seed);
        let mut size = 1;
        while let Some(i) = stack.pop() {
            let (r, c) = (i / l, i % l);
            let nbrs = [
                if r == 0 { l - 1 } else { r - 1 } * l + c,
                if r + 1 == l { 0 } else { r + 1 } * l + c,
                r * l + if c == 0 { l - 1 } else { c - 1 },
                r * l + if c + 1 == l { 0 } else { c + 1 },
            ];
            for k in nbrs {
                if spins[k] == s0 && uniform(rng) < self.p_add {
                    spins[k] = -s0;
                    stack.push(k);
                    size += 1;
                }
            }
        }
        size
    }
}
