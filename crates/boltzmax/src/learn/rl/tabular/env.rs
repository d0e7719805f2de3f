//! Finite MDPs given by their full transition table, and the gymnasium
//! grid worlds.

use rand::Rng;

use crate::learn::rl::rng::uniform_open;
use crate::{Error, Result};

/// gymnasium's `FrozenLake-v1` 4x4 map (`S` start, `F` frozen, `H` hole,
/// `G` goal).
pub const FROZEN_LAKE_4X4: [&str; 4] = ["SFFF", "FHFH", "FFFH", "HFFG"];

/// gymnasium's `FrozenLake-v1` 8x8 map (`map_name="8x8"`).
pub const FROZEN_LAKE_8X8: [&str; 8] = [
    "SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF", "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG",
];

/// One possible result of taking an action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Its probability.
    pub prob: f64,
    /// The next state.
    pub next: usize,
    /// The reward received.
    pub reward: f64,
    /// Whether the episode ends (the next state is terminal).
    pub done: bool,
}

/// A finite MDP: for each state and action, the list of outcomes.
///
/// Terminal states have no outcomes; an episode that reaches one ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Mdp {
    n_states: usize,
    n_actions: usize,
    start: usize,
    /// `offsets[s * n_actions + a]..offsets[s * n_actions + a + 1]` index
    /// `outcomes`.
    offsets: Vec<usize>,
    outcomes: Vec<Outcome>,
    terminal: Vec<bool>,
    /// Grid width, for drawing (0 when not a grid).
    width: usize,
}

impl Mdp {
    /// Builds an MDP from `table[s][a]` = outcomes; states whose every
    /// action has no outcome are terminal. Probabilities of each
    /// non-empty list must sum to 1 (within 1e-9).
    pub fn new(table: Vec<Vec<Vec<Outcome>>>, start: usize) -> Result<Self> {
        let n_states = table.len();
        let n_actions = table.first().map_or(0, Vec::len);
        if n_states == 0 || n_actions == 0 {
            return Err(Error::InvalidParameter {
                name: "mdp",
                reason: format!("needs states and actions, got {n_states} x {n_actions}"),
            });
        }
        if start >= n_states {
            return Err(Error::InvalidParameter {
                name: "start",
                reason: format!("state {start} out of 0..{n_states}"),
            });
        }
        let mut offsets = vec![0];
        let mut outcomes = Vec::new();
        let mut terminal = vec![true; n_states];
        for (s, row) in table.into_iter().enumerate() {
            if row.len() != n_actions {
                return Err(Error::LengthMismatch {
                    what: "actions of a state",
                    got: row.len(),
                    expected: n_actions,
                });
            }
            for (a, outs) in row.into_iter().enumerate() {
                if !outs.is_empty() {
                    terminal[s] = false;
                    let total: f64 = outs.iter().map(|o| o.prob).sum();
                    if (total - 1.0).abs() > 1e-9
                        || outs.iter().any(|o| o.prob.is_nan() || o.prob < 0.0)
                    {
                        return Err(Error::InvalidParameter {
                            name: "transition probabilities",
                            reason: format!("state {s}, action {a}: sum to {total}, not 1"),
                        });
                    }
                    if let Some(o) = outs.iter().find(|o| o.next >= n_states) {
                        return Err(Error::InvalidParameter {
                            name: "next state",
                            reason: format!("state {s}, action {a}: {} out of range", o.next),
                        });
                    }
                }
                outcomes.extend(outs);
                offsets.push(outcomes.len());
            }
        }
        Ok(Mdp {
            n_states,
            n_actions,
            start,
            offsets,
            outcomes,
            terminal,
            width: 0,
        })
    }

    /// gymnasium's `FrozenLake-v1` on `map` (rows of `S`, `F`, `H`, `G`).
    ///
    /// Actions 0 left, 1 down, 2 right, 3 up. A move off the grid stays
    /// put. When `slippery`, the agent moves in the intended direction or
    /// in either perpendicular one, each with probability 1/3 (outcomes
    /// that land on the same cell are merged). Reward 1 on entering `G`,
    /// else 0; `H` and `G` end the episode. gymnasium's time limit (100
    /// steps on 4x4, 200 on 8x8) is not part of the MDP: pass it as the
    /// horizon to [`dp::horizon_values`](super::dp::horizon_values) and
    /// as [`TrainConfig::max_steps`](super::TrainConfig::max_steps).
    ///
    /// ```
    /// use boltzmax::learn::rl::tabular::{Mdp, FROZEN_LAKE_4X4};
    /// let lake = Mdp::frozen_lake(&FROZEN_LAKE_4X4, true).unwrap();
    /// assert_eq!((lake.n_states(), lake.n_actions()), (16, 4));
    /// // From the start, "left" slips down with probability 1/3.
    /// let o = lake.outcomes(0, 0);
    /// assert!(o.iter().any(|o| o.next == 4 && (o.prob - 1.0 / 3.0).abs() < 1e-15));
    /// ```
    pub fn frozen_lake<S: AsRef<str>>(map: &[S], slippery: bool) -> Result<Self> {
        let rows: Vec<&[u8]> = map.iter().map(|r| r.as_ref().as_bytes()).collect();
        let nrow = rows.len();
        let ncol = rows.first().map_or(0, |r| r.len());
        let bad = |reason: String| Error::InvalidParameter {
            name: "map",
            reason,
        };
        if nrow == 0 || ncol == 0 || rows.iter().any(|r| r.len() != ncol) {
            return Err(bad("rows must be non-empty and of equal length".into()));
        }
        let cell = |s: usize| rows[s / ncol][s % ncol];
        let n = nrow * ncol;
        if let Some(s) = (0..n).find(|&s| !b"SFHG".contains(&cell(s))) {
            return Err(bad(format!(
                "row {}, column {}: unknown cell {:?}",
                s / ncol,
                s % ncol,
                cell(s) as char
            )));
        }
        let starts: Vec<usize> = (0..n).filter(|&s| cell(s) == b'S').collect();
        if starts.len() != 1 {
            return Err(bad(format!("needs exactly one S, found {}", starts.len())));
        }
        let step = |s: usize, a: usize| -> usize {
            let (mut r, mut c) = (s / ncol, s % ncol);
            match a {
                0 => c = c.saturating_sub(1),
                1 => r = (r + 1).min(nrow - 1),
                2 => c = (c + 1).min(ncol - 1),
                _ => r = r.saturating_sub(1),
            }
            r * ncol + c
        };
        let mut table = Vec::with_capacity(n);
        for s in 0..n {
            let mut row = Vec::with_capacity(4);
            for a in 0..4 {
                let mut outs: Vec<Outcome> = Vec::new();
                if !b"HG".contains(&cell(s)) {
                    let dirs: &[usize] = if slippery {
                        &[(a + 3) % 4, a, (a + 1) % 4]
                    } else {
                        &[a]
                    };
                    let p = 1.0 / dirs.len() as f64;
                    for &b in dirs {
                        let next = step(s, b);
                        if let Some(o) = outs.iter_mut().find(|o| o.next == next) {
                            o.prob += p;
                        } else {
                            outs.push(Outcome {
                                prob: p,
                                next,
                                reward: if cell(next) == b'G' { 1.0 } else { 0.0 },
                                done: b"HG".contains(&cell(next)),
                            });
                        }
                    }
                }
                row.push(outs);
            }
            table.push(row);
        }
        let mut mdp = Mdp::new(table, starts[0])?;
        mdp.width = ncol;
        Ok(mdp)
    }

    /// gymnasium's `CliffWalking`: a 4 x 12 grid, start at the bottom left,
    /// goal at the bottom right, the cells between them a cliff. Actions 0
    /// up, 1 right, 2 down, 3 left; every step costs -1, stepping into the
    /// cliff costs -100 and returns the agent to the start (the episode
    /// goes on); entering the goal ends the episode. Deterministic. The
    /// optimal return is -13.
    ///
    /// ```
    /// use boltzmax::learn::rl::tabular::Mdp;
    /// let cliff = Mdp::cliff_walking();
    /// assert_eq!(cliff.outcomes(36, 1)[0].reward, -100.0); // right from start
    /// assert_eq!(cliff.outcomes(36, 1)[0].next, 36);
    /// ```
    pub fn cliff_walking() -> Self {
        let (nrow, ncol) = (4usize, 12usize);
        let start = 36;
        let goal = 47;
        let cliff = |s: usize| s > 36 && s < 47;
        let mut table = Vec::new();
        for s in 0..nrow * ncol {
            let mut row = Vec::new();
            for a in 0..4 {
                if s == goal || cliff(s) {
                    // Never entered (the cliff sends the agent back), or
                    // terminal: no outcomes.
                    row.push(Vec::new());
                    continue;
                }
                let (mut r, mut c) = (s / ncol, s % ncol);
                match a {
                    0 => r = r.saturating_sub(1),
                    1 => c = (c + 1).min(ncol - 1),
                    2 => r = (r + 1).min(nrow - 1),
                    _ => c = c.saturating_sub(1),
                }
                let next = r * ncol + c;
                row.push(vec![if cliff(next) {
                    Outcome {
                        prob: 1.0,
                        next: start,
                        reward: -100.0,
                        done: false,
                    }
                } else {
                    Outcome {
                        prob: 1.0,
                        next,
                        reward: -1.0,
                        done: next == goal,
                    }
                }]);
            }
            table.push(row);
        }
        let mut mdp = Mdp::new(table, start).expect("the cliff world is well formed");
        mdp.width = ncol;
        mdp
    }

    /// The number of states.
    pub fn n_states(&self) -> usize {
        self.n_states
    }

    /// The number of actions (the same in every state).
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// The start state.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Whether `s` is terminal (no outcomes).
    pub fn is_terminal(&self, s: usize) -> bool {
        self.terminal[s]
    }

    /// The grid width for grid worlds, 0 otherwise.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The outcomes of action `a` in state `s` (empty when terminal).
    #[inline]
    pub fn outcomes(&self, s: usize, a: usize) -> &[Outcome] {
        let i = s * self.n_actions + a;
        &self.outcomes[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Samples an outcome of action `a` in state `s` (not terminal).
    #[inline]
    pub fn step<R: Rng + ?Sized>(&self, s: usize, a: usize, rng: &mut R) -> Outcome {
        let outs = self.outcomes(s, a);
        if outs.len() == 1 {
            return outs[0];
        }
        let u = uniform_open(rng);
        let mut acc = 0.0;
        for o in outs {
            acc += o.prob;
            if u < acc {
                return *o;
            }
        }
        outs[outs.len() - 1]
    }
}
