//! `boltzmax bandit` and `boltzmax qlearn` run as the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_boltzmax"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("boltzmax-rl-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

fn json_of(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("valid JSON on stdout")
}

const MEANS: &str = "0.9,0.85,0.8,0.75,0.7,0.65,0.6,0.55,0.5,0.45";

#[test]
fn bandit_json_reports_each_policy_and_is_thread_count_independent() {
    let args = [
        "bandit",
        "-p",
        "boltzmann:T=0.1",
        "-p",
        "bge:C=0.5",
        "-p",
        "thompson",
        "--env",
        "bernoulli",
        "--means",
        MEANS,
        "--runs",
        "40",
        "--steps",
        "2000",
        "--seed",
        "3",
        "--format",
        "json",
    ];
    let mut outs = Vec::new();
    for threads in ["1", "3"] {
        let mut v = json_of(&run(bin().args(args).env("RAYON_NUM_THREADS", threads)));
        for p in v["policies"].as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("seconds");
        }
        outs.push(v);
    }
    assert_eq!(outs[0], outs[1]);
    let v = &outs[0];
    let pol = v["policies"].as_array().unwrap();
    assert_eq!(pol.len(), 3);
    assert_eq!(pol[1]["policy"], "bge:C=0.5");
    let regret = |i: usize| pol[i]["final"]["regret"].as_f64().unwrap();
    // Thompson beats BGE beats fixed-temperature Boltzmann on this problem.
    assert!(regret(2) < regret(1) && regret(1) < regret(0), "{v}");
    assert_eq!(pol[0]["curves"]["step"].as_array().unwrap().len(), 1000);
}

#[test]
fn bandit_csv_text_and_plot() {
    let dir = scratch("csv");
    let csv = dir.join("curves.csv");
    let svg = dir.join("regret.svg");
    let o = run(bin()
        .args([
            "bandit",
            "-p",
            "egreedy:eps=0.1",
            "-p",
            "ucb:c=2",
            "--runs",
            "50",
            "--steps",
            "100",
            "--every",
            "10",
            "--format",
            "csv",
            "-o",
        ])
        .arg(&csv)
        .arg("--plot")
        .arg(&svg));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("policy,step,mean_reward"));
    assert_eq!(lines.len(), 1 + 2 * 10);
    assert!(lines[10].starts_with("\"egreedy:eps=0.1\",100,"));
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.contains("<svg") && svg_text.contains("ucb:c=2"));
    let o = run(bin().args([
        "bandit",
        "-p",
        "boltzmann:T=0.25",
        "--runs",
        "20",
        "--steps",
        "50",
    ]));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("boltzmann:T=0.25") && out.contains("regret@50"));
}

#[test]
fn bandit_errors_are_one_line_exit_2_and_leave_no_file() {
    let dir = scratch("err");
    let out = dir.join("out.json");
    for (args, needle) in [
        (vec!["-p", "boltzmann:T=-1"], "temperature"),
        (vec!["-p", "nope"], "unknown policy \"nope\""),
        (
            vec!["-p", "ucb", "--env", "bernoulli", "--means", "0.5,1.5"],
            "1.5",
        ),
        (vec!["-p", "ucb", "--env", "bernoulli"], "--means"),
        (vec!["-p", "ucb", "--runs", "0"], "runs"),
    ] {
        let o = run(bin()
            .arg("bandit")
            .args(&args)
            .arg("-o")
            .arg(&out)
            .args(["--format", "json"]));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!out.exists());
    }
}

#[test]
fn qlearn_scores_greedy_policies_exactly() {
    let v = json_of(&run(bin().args([
        "qlearn",
        "--env",
        "cliff",
        "--algorithm",
        "q",
        "--policy",
        "egreedy:eps=0.1",
        "--alpha",
        "0.5",
        "--gamma",
        "1",
        "--episodes",
        "500",
        "--seeds",
        "2",
        "--format",
        "json",
    ])));
    assert_eq!(v["final_scores"], serde_json::json!([-13.0, -13.0]));
    assert_eq!(v["optimal_within_horizon"], -13.0);
    let dir = scratch("ql");
    let png = dir.join("curve.png");
    let o = run(bin()
        .args([
            "qlearn",
            "--episodes",
            "2000",
            "--eval-every",
            "200",
            "--plot",
        ])
        .arg(&png));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("0.7441902878"), "{out}"); // the horizon optimum
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let o = run(bin().args(["qlearn", "--policy", "boltzmann:T0=1"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("T1="));
}
