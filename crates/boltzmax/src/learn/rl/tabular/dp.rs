//! Exact dynamic programming on an [`Mdp`]: the references that learned
//! policies are scored against.
//!
//! Horizons count actions: `horizon_values(mdp, pi, h)[s]` is the expected
//! total reward of at most `h` actions from `s`, the episode ending early
//! at a terminal state. This is gymnasium's `TimeLimit(max_episode_steps =
//! h)`: a goal entered by the h-th action counts. On FrozenLake, where the
//! only reward is 1 for entering the goal, it is the probability of
//! success within `h` steps.

use super::Mdp;

/// `sum over outcomes of p (r + gamma V(next))`, with `V = 0` after a
/// terminal transition.
#[inline]
fn backup(mdp: &Mdp, v: &[f64], s: usize, a: usize, gamma: f64) -> f64 {
    mdp.outcomes(s, a)
        .iter()
        .map(|o| o.prob * (o.reward + if o.done { 0.0 } else { gamma * v[o.next] }))
        .sum()
}

/// Value iteration to `max |V_new - V| <= tol` (in place, Gauss-Seidel
/// order), returning the state values `V` and the action values `Q`
/// (indexed `s * n_actions + a`). `gamma = 1` is allowed for problems
/// where every policy the iteration meets ends episodes (FrozenLake's
/// success probability); the iteration stops after 10^7 sweeps otherwise.
pub fn value_iteration(mdp: &Mdp, gamma: f64, tol: f64) -> (Vec<f64>, Vec<f64>) {
    let (ns, na) = (mdp.n_states(), mdp.n_actions());
    let mut v = vec![0.0; ns];
    for _ in 0..10_000_000 {
        let mut delta: f64 = 0.0;
        for s in 0..ns {
            if mdp.is_terminal(s) {
                continue;
            }
            let best = (0..na)
                .map(|a| backup(mdp, &v, s, a, gamma))
                .fold(f64::NEG_INFINITY, f64::max);
            delta = delta.max((best - v[s]).abs());
            v[s] = best;
        }
        if delta <= tol {
            break;
        }
    }
    let mut q = vec![0.0; ns * na];
    for s in 0..ns {
        if !mdp.is_terminal(s) {
            for a in 0..na {
                q[s * na + a] = backup(mdp, &v, s, a, gamma);
            }
        }
    }
    (v, q)
}

/// The greedy policy of action values `q` (`s * n_actions + a`): the
/// largest, the lowest action index on ties (deterministic, so a score is
/// a function of `q`); 0 in terminal states.
pub fn greedy(mdp: &Mdp, q: &[f64]) -> Vec<usize> {
    let na = mdp.n_actions();
    (0..mdp.n_states())
        .map(|s| {
            let row = &q[s * na..(s + 1) * na];
            let mut best = 0;
            for a in 1..na {
                if row[a] > row[best] {
                    best = a;
                }
            }
            best
        })
        .collect()
}

/// The discounted value of a deterministic policy, iterated to
/// `max |V_new - V| <= tol` (at most 10^7 sweeps).
pub fn policy_evaluation(mdp: &Mdp, policy: &[usize], gamma: f64, tol: f64) -> Vec<f64> {
    let mut v = vec![0.0; mdp.n_states()];
    for _ in 0..10_000_000 {
        let mut delta: f64 = 0.0;
        for s in 0..mdp.n_states() {
            if mdp.is_terminal(s) {
                continue;
            }
            let new = backup(mdp, &v, s, policy[s], gamma);
            delta = delta.max((new - v[s]).abs());
            v[s] = new;
        }
        if delta <= tol {
            break;
        }
    }
    v
}

/// The expected total reward of at most `horizon` actions under the
/// deterministic stationary `policy`, from every state (see the module
/// docs for the horizon convention). Exact: `horizon` backward sweeps.
///
/// ```
/// use boltzmax::learn::rl::tabular::{dp, Mdp, FROZEN_LAKE_4X4};
/// let lake = Mdp::frozen_lake(&FROZEN_LAKE_4X4, false).unwrap();
/// // Down, down, right, down, right, right reaches the goal in 6 steps.
/// let mut pi = vec![0; 16];
/// for (s, a) in [(0, 1), (4, 1), (8, 2), (9, 1), (13, 2), (14, 2)] { pi[s] = a; }
/// assert_eq!(dp::horizon_values(&lake, &pi, 6)[0], 1.0);
/// assert_eq!(dp::horizon_values(&lake, &pi, 5)[0], 0.0);
/// ```
pub fn horizon_values(mdp: &Mdp, policy: &[usize], horizon: usize) -> Vec<f64> {
    let mut v = vec![0.0; mdp.n_states()];
    let mut next = v.clone();
    for _ in 0..horizon {
        for (s, n) in next.iter_mut().enumerate() {
            *n = if mdp.is_terminal(s) {
                0.0
            } else {
                backup(mdp, &v, s, policy[s], 1.0)
            };
        }
        std::mem::swap(&mut v, &mut next);
    }
    v
}

/// The optimal expected total reward of at most `horizon` actions over all
/// policies, which may depend on the steps left (non-stationary): an upper
/// bound on every stationary policy's [`horizon_values`].
pub fn horizon_optimal(mdp: &Mdp, horizon: usize) -> Vec<f64> {
    let mut v = vec![0.0; mdp.n_states()];
    let mut next = v.clone();
    for _ in 0..horizon {
        for (s, n) in next.iter_mut().enumerate() {
            *n = if mdp.is_terminal(s) {
                0.0
            } else {
                (0..mdp.n_actions())
                    .map(|a| backup(mdp, &v, s, a, 1.0))
                    .fold(f64::NEG_INFINITY, f64::max)
            };
        }
        std::mem::swap(&mut v, &mut next);
    }
    v
}
