//! Reinforcement learning with Boltzmann (softmax) exploration.
//!
//! - [`bandit`]: multi-armed bandits. Policies implement [`bandit::Policy`]
//!   (`select` an arm, `update` with its reward); environments implement
//!   [`bandit::Environment`]; [`bandit::Simulation`] runs many independent
//!   runs in parallel and returns mean curves with their spread,
//!   reproducible for a seed whatever the number of threads.
//! - [`tabular`]: Q-learning, SARSA and expected SARSA on small MDPs
//!   (FrozenLake, CliffWalking) with exact dynamic programming to score
//!   the greedy policy that learning produced.
//!
//! Randomness is always injected: every random method takes a
//! `rand::Rng`. [`stream_rng`] (re-exported from [`crate::sample`]) gives
//! the generator of one run.
//!
//! ```
//! use boltzmax::learn::rl::bandit::{Boltzmann, BernoulliBandit, Environment, Policy};
//! use boltzmax::learn::rl::stream_rng;
//!
//! let mut env = BernoulliBandit::new(vec![0.2, 0.8]).unwrap();
//! let mut policy = Boltzmann::new(2, 0.1).unwrap();
//! let mut rng = stream_rng(42, 0);
//! for _ in 0..500 {
//!     let arm = policy.select(&mut rng);
//!     let reward = env.pull(arm, &mut rng);
//!     policy.update(arm, reward);
//! }
//! assert!(policy.estimates()[1] > policy.estimates()[0]);
//! ```

pub mod bandit;
pub(crate) mod fastmath;
mod rng;
pub mod tabular;
mod ziggurat;
mod ziggurat1024;

pub use rng::stream_rng;
