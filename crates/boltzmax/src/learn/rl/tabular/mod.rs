//! Tabular reinforcement learning on small finite MDPs.
//!
//! - [`Mdp`]: states, actions and the full transition table, with the
//!   gymnasium environments [`Mdp::frozen_lake`] (maps
//!   [`FROZEN_LAKE_4X4`], [`FROZEN_LAKE_8X8`]) and [`Mdp::cliff_walking`].
//! - [`dp`]: exact dynamic programming: value iteration, policy
//!   evaluation, and finite-horizon values, used to score a learned greedy
//!   policy by its exact success probability instead of noisy roll-outs.
//! - [`train`]: Q-learning, SARSA and expected SARSA with Boltzmann
//!   (fixed or annealed temperature) or epsilon-greedy exploration.
//!
//! ```
//! use boltzmax::learn::rl::tabular::{dp, Mdp, FROZEN_LAKE_4X4};
//! let lake = Mdp::frozen_lake(&FROZEN_LAKE_4X4, true).unwrap();
//! let (_, q) = dp::value_iteration(&lake, 0.99, 1e-12);
//! let policy = dp::greedy(&lake, &q);
//! // The exact probability of reaching the goal within gymnasium's 100 steps.
//! let p = dp::horizon_values(&lake, &policy, 100)[lake.start()];
//! assert!((p - 0.7402).abs() < 5e-5);
//! ```

pub mod dp;
mod env;
mod learn;

pub use env::{FROZEN_LAKE_4X4, FROZEN_LAKE_8X8, Mdp, Outcome};
pub use learn::{Algorithm, Exploration, TrainConfig, Training, train};
