#!/usr/bin/env python3
"""Bandit speed and correctness beside the peers, in one run.

    cargo build -p boltzmax --release --example rl_speed
    python3 benches/peers/bandit_peers.py

Runs, in this order and in this one process (boltzmax through its example
binary, timed inside Rust):
  * boltzmax: one online select+update, 10 arms (median of 7 x 200k steps),
    and the full 10-armed testbed, 2000 runs x 1000 steps, on all cores;
  * mabwiser (pip install mabwiser): predict() + partial_fit() per step for
    Softmax(tau=0.1), UCB1(alpha=1), EpsilonGreedy(0.1), ThompsonSampling;
    and whether its Softmax samples softmax(Q/tau): total-variation distance
    between its selection frequencies and softmax(Q/tau) on a frozen state;
  * numpy: the same Boltzmann step written plainly (exp, normalise,
    searchsorted on the CDF), and the testbed vectorised over the 2000 runs.

Prints a table and ratios (peer time / boltzmax time). Not run in CI.
"""

import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEANS = np.array([0.9 - 0.05 * k for k in range(10)])


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def boltzmax_times():
    exe = os.path.join(ROOT, "target", "release", "examples", "rl_speed")
    if not os.path.exists(exe):
        sys.exit(f"{exe} missing: cargo build -p boltzmax --release --example rl_speed")
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def mabwiser_step_us(policy, steps=300, reps=3):
    from mabwiser.mab import MAB

    arms = list(range(10))
    rng = np.random.default_rng(0)
    times = []
    for _ in range(reps):
        mab = MAB(arms, policy, seed=1)
        dec = np.repeat(arms, 2)
        mab.fit(dec, (rng.random(len(dec)) < MEANS[dec]).astype(float))
        t = time.perf_counter()
        for _ in range(steps):
            a = mab.predict()
            # Binary rewards: mabwiser's Thompson sampling accepts no others.
            mab.partial_fit([a], [float(rng.random() < MEANS[a])])
        times.append((time.perf_counter() - t) / steps * 1e6)
    return median(times)


def mabwiser_softmax_tv(tau=0.1, draws=20000):
    """Selection frequencies of a frozen mabwiser Softmax vs softmax(Q/tau)."""
    from mabwiser.mab import MAB, LearningPolicy

    arms = list(range(5))
    q = np.array([0.30, 0.25, 0.20, 0.10, 0.0])
    # Ten observations per arm whose mean is exactly q.
    dec, rew = [], []
    for a in arms:
        dec += [a] * 10
        rew += [q[a]] * 10
    mab = MAB(arms, LearningPolicy.Softmax(tau=tau), seed=7)
    mab.fit(dec, rew)
    target = np.exp((q - q.max()) / tau)
    target /= target.sum()
    counts = np.zeros(5)
    for _ in range(draws):
        counts[mab.predict()] += 1
    freq = counts / draws
    return {
        "tv_frequencies_vs_softmax": 0.5 * np.abs(freq - target).sum(),
        # Sampling noise alone: expected TV of `draws` exact draws ~ this.
        "tv_noise_scale": 0.5 * np.sqrt(target * (1 - target) / draws).sum() * np.sqrt(2 / np.pi),
        "frequencies": freq.round(4).tolist(),
        "softmax": target.round(4).tolist(),
    }


def numpy_step_ns(tau=0.1, steps=50000):
    rng = np.random.default_rng(0)
    q = np.zeros(10)
    n = np.zeros(10)
    t = time.perf_counter()
    for _ in range(steps):
        z = np.exp((q - q.max()) / tau)
        cdf = np.cumsum(z)
        a = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
        a = min(a, 9)
        n[a] += 1
        q[a] += (MEANS[a] - q[a]) / n[a]
    return (time.perf_counter() - t) / steps * 1e9


def numpy_testbed_s(tau=0.1, runs=2000, steps=1000, seed=0):
    """Boltzmann on the 10-armed testbed, vectorised over runs."""
    rng = np.random.default_rng(seed)
    qstar = rng.standard_normal((runs, 10))
    q = np.zeros((runs, 10))
    n = np.zeros((runs, 10))
    idx = np.arange(runs)
    mean_reward = np.zeros(steps)
    t = time.perf_counter()
    for s in range(steps):
        z = np.exp((q - q.max(axis=1, keepdims=True)) / tau)
        cdf = np.cumsum(z, axis=1)
        u = rng.random((runs, 1)) * cdf[:, -1:]
        a = np.minimum((cdf <= u).sum(axis=1), 9)
        r = qstar[idx, a] + rng.standard_normal(runs)
        n[idx, a] += 1
        q[idx, a] += (r - q[idx, a]) / n[idx, a]
        mean_reward[s] = r.mean()
    return time.perf_counter() - t, mean_reward[-100:].mean()


def main():
    from mabwiser.mab import LearningPolicy

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    print(time.strftime("date: %Y-%m-%d %H:%M UTC", time.gmtime()))
    load0 = os.getloadavg()
    bz = boltzmax_times()
    load1 = os.getloadavg()
    # Other work on the machine slows the all-cores figures first: say how
    # busy it was while boltzmax was timed.
    print(f"load average (1, 5, 15 min) before boltzmax's timing {load0[0]:.2f} {load0[1]:.2f} "
          f"{load0[2]:.2f}, after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    by = {r["policy"]: r for r in bz["results"]}
    print(f"boltzmax threads: {bz['threads']}")
    print()
    print(f"{'online step (10 arms)':<34}{'boltzmax ns':>12}{'mabwiser us':>13}{'ratio':>9}")
    pairs = [
        ("boltzmann:T=0.1", "Softmax(tau=0.1)", LearningPolicy.Softmax(tau=0.1)),
        ("ucb:c=2", "UCB1(alpha=1)", LearningPolicy.UCB1(alpha=1.0)),
        ("egreedy:eps=0.1", "EpsilonGreedy(0.1)", LearningPolicy.EpsilonGreedy(epsilon=0.1)),
        ("thompson", "ThompsonSampling", LearningPolicy.ThompsonSampling()),
    ]
    for ours, label, pol in pairs:
        mw = mabwiser_step_us(pol)
        b = by[ours]["online_ns"]
        print(f"{ours + ' / ' + label:<34}{b:>12.1f}{mw:>13.1f}{mw * 1e3 / b:>8.0f}x")
    for ours in ["boltzmann-log:T0=1", "bge:C=0.5", "exp3:gamma=0.1", "gradient:alpha=0.1",
                 "thompson-gauss"]:
        print(f"{ours:<34}{by[ours]['online_ns']:>12.1f}{'-':>13}{'':>9}")
    npns = numpy_step_ns()
    b = by["boltzmann:T=0.1"]["online_ns"]
    print(f"{'boltzmann T=0.1, plain numpy':<34}{b:>12.1f}{npns / 1e3:>13.2f}{npns / b:>8.0f}x  (numpy column)")
    print()
    t_np, tail = numpy_testbed_s()
    print("10-armed testbed, 2000 runs x 1000 steps, Boltzmann T=0.1")
    bt = by["boltzmann:T=0.1"]
    print(f"  boltzmax all cores {bt['testbed_s']:.3f} s, one thread {bt['testbed_1thread_s']:.3f} s; "
          f"numpy vectorised over runs {t_np:.3f} s (mean reward of last 100 steps {tail:.3f}); "
          f"ratio numpy/boltzmax {t_np / bt['testbed_s']:.1f}x")
    print("  every method, boltzmax all cores / one thread (s), median and minimum of 5:")
    print(f"    {'':<24}{'all med':>8}{'all min':>8}{'1 med':>8}{'1 min':>8}")
    for r in bz["results"]:
        print(f"    {r['policy']:<24}{r['testbed_s']:>8.3f}{r['testbed_min_s']:>8.3f}"
              f"{r['testbed_1thread_s']:>8.3f}{r['testbed_1thread_min_s']:>8.3f}")
    print()
    tv = mabwiser_softmax_tv()
    print("mabwiser Softmax(tau=0.1) on a frozen state, 20000 predict() calls:")
    print(f"  frequencies {tv['frequencies']}")
    print(f"  softmax     {tv['softmax']}")
    print(f"  TV(frequencies, softmax) = {tv['tv_frequencies_vs_softmax']:.4f} "
          f"(sampling noise alone ~ {tv['tv_noise_scale']:.4f})")


if __name__ == "__main__":
    main()
