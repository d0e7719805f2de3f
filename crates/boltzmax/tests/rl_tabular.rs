//! Tabular RL: gymnasium dynamics, exact dynamic programming, and learning
//! on FrozenLake and CliffWalking.

use boltzmax::learn::rl::bandit::Schedule;
use boltzmax::learn::rl::stream_rng;
use boltzmax::learn::rl::tabular::{
    Algorithm, Exploration, FROZEN_LAKE_4X4, FROZEN_LAKE_8X8, Mdp, TrainConfig, dp, train,
};

/// All stationary policies that are optimal for the undiscounted
/// (infinite-horizon) success probability differ only where actions tie;
/// enumerate the ties and keep the best 100-step score.
fn best_gain_optimal_stationary(mdp: &Mdp, horizon: usize) -> (f64, Vec<usize>) {
    let (_, q) = dp::value_iteration(mdp, 1.0, 1e-15);
    let na = mdp.n_actions();
    let ties: Vec<Vec<usize>> = (0..mdp.n_states())
        .map(|s| {
            let row = &q[s * na..(s + 1) * na];
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if mdp.is_terminal(s) {
                vec![0]
            } else {
                (0..na).filter(|&a| row[a] >= m - 1e-12).collect()
            }
        })
        .collect();
    let mut best = (f64::NEG_INFINITY, Vec::new());
    let mut idx = vec![0usize; ties.len()];
    loop {
        let pi: Vec<usize> = idx.iter().zip(&ties).map(|(&i, t)| t[i]).collect();
        let v = dp::horizon_values(mdp, &pi, horizon)[mdp.start()];
        if v > best.0 {
            best = (v, pi);
        }
        // Odometer over the tie sets.
        let mut k = 0;
        while k < idx.len() {
            idx[k] += 1;
            if idx[k] < ties[k].len() {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
        if k == idx.len() {
            return best;
        }
    }
}

#[test]
fn frozen_lake_4x4_slippery_optimal_100_step_success_is_0_7402() {
    let lake = Mdp::frozen_lake(&FROZEN_LAKE_4X4, true).unwrap();
    let (best, pi) = best_gain_optimal_stationary(&lake, 100);
    assert!((best - 0.7402).abs() < 5e-5, "{best}");
    // A second route: the discounted-optimal policy at gamma = 0.99 is the
    // same policy, with the same exact score to 1e-9.
    let (_, q) = dp::value_iteration(&lake, 0.99, 1e-14);
    let pi99 = dp::greedy(&lake, &q);
    let v99 = dp::horizon_values(&lake, &pi99, 100)[0];
    assert!((v99 - best).abs() < 1e-9, "{v99} vs {best}");
    // gamma = 0.9 prefers a safer, slower move in state 2 and loses within
    // 100 steps: the horizon matters.
    let (_, q9) = dp::value_iteration(&lake, 0.9, 1e-14);
    let v9 = dp::horizon_values(&lake, &dp::greedy(&lake, &q9), 100)[0];
    assert!(v9 < 0.7300 && v9 > 0.7290, "{v9}");
    // The non-stationary optimum bounds every stationary policy.
    let upper = dp::horizon_optimal(&lake, 100)[0];
    assert!(upper >= best && upper < 0.745, "{upper}");
    // Infinite-horizon success probability of the optimal policy is 14/17.
    let (v, _) = dp::value_iteration(&lake, 1.0, 1e-15);
    assert!((v[0] - 14.0 / 17.0).abs() < 1e-9, "{}", v[0]);
    // Independent check of dynamics and DP: simulate the policy.
    let mut rng = stream_rng(3, 0);
    let n = 100_000;
    let mut wins = 0;
    for _ in 0..n {
        let mut s = lake.start();
        for _ in 0..100 {
            let o = lake.step(s, pi[s], &mut rng);
            if o.done {
                wins += (o.reward > 0.0) as usize;
                break;
            }
            s = o.next;
        }
    }
    let freq = wins as f64 / n as f64;
    let se = (best * (1.0 - best) / n as f64).sqrt();
    assert!(
        (freq - best).abs() < 4.0 * se,
        "simulated {freq} vs exact {best}"
    );
}

#[test]
fn frozen_lake_maps_match_gymnasium() {
    let lake = Mdp::frozen_lake(&FROZEN_LAKE_8X8, true).unwrap();
    assert_eq!(lake.n_states(), 64);
    let holes = (0..64).filter(|&s| lake.is_terminal(s)).count();
    assert_eq!(holes, 10 + 1); // ten holes and the goal
    // Not slippery: deterministic moves, "up" from the start stays put.
    let lake = Mdp::frozen_lake(&FROZEN_LAKE_4X4, false).unwrap();
    assert_eq!(lake.outcomes(0, 3).len(), 1);
    assert_eq!(lake.outcomes(0, 3)[0].next, 0);
    // Entering the goal pays 1 and ends the episode.
    let o = lake.outcomes(14, 2)[0];
    assert_eq!((o.next, o.reward, o.done), (15, 1.0, true));
    // A slippery "right" from state 14 can slip up (to 10) or down (stays).
    let lake = Mdp::frozen_lake(&FROZEN_LAKE_4X4, true).unwrap();
    let mut outs: Vec<(usize, f64)> = lake
        .outcomes(14, 2)
        .iter()
        .map(|o| (o.next, o.prob))
        .collect();
    outs.sort_by_key(|o| o.0);
    assert_eq!(
        outs.iter().map(|o| o.0).collect::<Vec<_>>(),
        vec![10, 14, 15]
    );
    assert!(Mdp::frozen_lake(&["SFX"], true).is_err());
    assert!(Mdp::frozen_lake(&["FFG"], true).is_err());
}

fn q_learning_4x4_seed(seed: u64) -> f64 {
    let lake = Mdp::frozen_lake(&FROZEN_LAKE_4X4, true).unwrap();
    let cfg = TrainConfig::q_learning_annealed(1.0, 0.01, 10_000, 100).unwrap();
    train(&lake, &cfg, &mut stream_rng(seed, 0))
        .unwrap()
        .final_score()
}

#[test]
fn q_learning_with_annealed_boltzmann_solves_frozen_lake_4x4() {
    let scores: Vec<f64> = (0..10).map(q_learning_4x4_seed).collect();
    eprintln!("exact 100-step success per seed: {scores:?}");
    let good = scores.iter().filter(|&&s| s >= 0.73).count();
    assert!(good >= 9, "{scores:?}");
}

#[test]
fn cliff_walking_on_policy_methods_walk_the_safe_path_q_learning_the_optimal_one() {
    // Sutton and Barto, example 6.6: with epsilon = 0.1, SARSA and expected
    // SARSA learn a path away from the cliff (greedy return below -13);
    // Q-learning learns the optimal path along the edge (-13).
    let cliff = Mdp::cliff_walking();
    let (v, _) = dp::value_iteration(&cliff, 1.0, 1e-12);
    assert_eq!(v[cliff.start()], -13.0);
    for (alg, lo, hi) in [
        (Algorithm::QLearning, -13.0, -13.0),
        (Algorithm::Sarsa, -17.0, -15.0),
        (Algorithm::ExpectedSarsa, -17.0, -15.0),
    ] {
        let cfg = TrainConfig {
            algorithm: alg,
            exploration: Exploration::EpsilonGreedy(Schedule::Constant(0.1)),
            alpha: if alg == Algorithm::ExpectedSarsa {
                0.9
            } else {
                0.5
            },
            gamma: 1.0,
            episodes: 500,
            max_steps: 1000,
            q0: 0.0,
            eval_every: 0,
            eval_horizon: 100,
        };
        let run = train(&cliff, &cfg, &mut stream_rng(7, 0)).unwrap();
        let got = run.final_score();
        assert!(got >= lo && got <= hi, "{alg:?}: {got}");
    }
}

#[test]
fn every_algorithm_with_annealed_boltzmann_solves_the_deterministic_lake() {
    let lake = Mdp::frozen_lake(&FROZEN_LAKE_4X4, false).unwrap();
    for alg in [
        Algorithm::QLearning,
        Algorithm::Sarsa,
        Algorithm::ExpectedSarsa,
    ] {
        let cfg = TrainConfig {
            algorithm: alg,
            ..TrainConfig::q_learning_annealed(1.0, 0.01, 2000, 100).unwrap()
        };
        let run = train(&lake, &cfg, &mut stream_rng(21, 0)).unwrap();
        assert_eq!(run.final_score(), 1.0, "{alg:?}");
        // Early episodes mostly fail, late ones mostly succeed.
        let early: f64 = run.returns[..200].iter().sum::<f64>() / 200.0;
        let late: f64 = run.returns[1800..].iter().sum::<f64>() / 200.0;
        assert!(late > early + 0.3, "{alg:?}: {early} -> {late}");
    }
}

#[test]
fn frozen_lake_8x8_references_are_consistent() {
    let lake = Mdp::frozen_lake(&FROZEN_LAKE_8X8, true).unwrap();
    let (_, q) = dp::value_iteration(&lake, 0.999, 1e-13);
    let pi = dp::greedy(&lake, &q);
    let v200 = dp::horizon_values(&lake, &pi, 200)[0];
    let upper = dp::horizon_optimal(&lake, 200)[0];
    let (v_inf, _) = dp::value_iteration(&lake, 1.0, 1e-14);
    // A stationary policy within 200 steps <= the non-stationary optimum
    // within 200 steps <= the unlimited-time optimum; and the horizon
    // values grow with the horizon.
    assert!(
        v200 <= upper + 1e-12 && upper <= v_inf[0] + 1e-9,
        "{v200} {upper} {}",
        v_inf[0]
    );
    assert!(dp::horizon_values(&lake, &pi, 100)[0] < v200);
    assert!(v200 > 0.5, "{v200}");
    // policy_evaluation at gamma = 0.999 agrees with value iteration.
    let (v, _) = dp::value_iteration(&lake, 0.999, 1e-13);
    let pe = dp::policy_evaluation(&lake, &pi, 0.999, 1e-13);
    assert!((v[0] - pe[0]).abs() < 1e-9);
}
