//! `boltzmax ising` and `boltzmax rbm` run as the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_boltzmax"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("boltzmax-ebm-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json_of(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("valid JSON on stdout")
}

#[test]
fn ising_reports_exact_values_and_draws() {
    let d = scratch("ising");
    let plot = d.join("ct.png");
    let snap = d.join("snap.png");
    let o = bin()
        .args([
            "ising",
            "-L",
            "4",
            "--t-min",
            "2",
            "--t-max",
            "3",
            "--t-steps",
            "3",
            "--sweeps",
            "20000",
        ])
        .args(["-a", "metropolis", "--format", "json", "--plot"])
        .arg(&plot)
        .arg("--snapshot")
        .arg(&snap)
        .output()
        .unwrap();
    let v = json_of(&o);
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        // L = 4: exact values by enumeration, |m| included; 5 sigma.
        for q in ["energy", "specific_heat", "abs_magnetization"] {
            let (val, err, ex) = (
                r[q]["value"].as_f64().unwrap(),
                r[q]["error"].as_f64().unwrap(),
                r[q]["exact"].as_f64().unwrap(),
            );
            assert!((val - ex).abs() < 5.0 * err, "{q}: {val} +- {err} vs {ex}");
        }
    }
    assert!(std::fs::metadata(&plot).unwrap().len() > 1000);
    assert!(std::fs::metadata(&snap).unwrap().len() > 50);
}

#[test]
fn ising_tempering_reports_swap_rates() {
    let o = bin()
        .args([
            "ising",
            "-L",
            "8",
            "--t-min",
            "2.1",
            "--t-max",
            "2.5",
            "--t-steps",
            "4",
            "--sweeps",
            "2000",
            "--tempering",
        ])
        .args(["-a", "metropolis", "--format", "json"])
        .output()
        .unwrap();
    let v = json_of(&o);
    assert_eq!(v["swap_rates"].as_array().unwrap().len(), 3);
}

#[test]
fn ising_bad_input_is_one_line_and_status_2() {
    let d = scratch("ising-bad");
    let plot = d.join("x.png");
    for args in [
        vec!["ising", "-L", "5"],
        vec!["ising", "-T", "-1"],
        vec!["ising", "-a", "wolff", "--h", "0.5"],
        vec!["ising", "--t-min", "3", "--t-max", "2"],
    ] {
        let o = bin().args(&args).arg("--plot").arg(&plot).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!plot.exists());
    }
}

#[test]
fn rbm_train_then_sample_round_trips_the_model() {
    let d = scratch("rbm");
    let model = d.join("m.json");
    let filters = d.join("f.png");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/digits.csv");
    let o = bin()
        .args([
            "rbm",
            "train",
            data,
            "--labels-last",
            "--divide-by",
            "16",
            "--hidden",
            "16",
            "--epochs",
            "3",
            "--format",
            "json",
        ])
        .arg("--model")
        .arg(&model)
        .arg("--filters")
        .arg(&filters)
        .output()
        .unwrap();
    let v = json_of(&o);
    assert_eq!(v["rows"], 1797);
    let pl = v["pseudo_likelihood_exact"].as_f64().unwrap();
    // Better than independent pixels at p = 1/2 (64 ln 1/2 = -44.4).
    assert!(pl > -30.0, "{pl}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(m["format"], "boltzmax-rbm");
    assert_eq!(m["weights"].as_array().unwrap().len(), 64);
    let samples = d.join("s.csv");
    let grid = d.join("g.png");
    let o = bin()
        .args(["rbm", "sample", "-n", "9", "--steps", "20"])
        .arg("--model")
        .arg(&model)
        .arg("--output")
        .arg(&samples)
        .arg("--grid")
        .arg(&grid)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&samples).unwrap();
    assert_eq!(text.lines().count(), 9);
    assert!(
        text.lines()
            .all(|l| l.split(',').count() == 64 && l.split(',').all(|x| x == "0" || x == "1"))
    );
    assert!(std::fs::metadata(&grid).unwrap().len() > 100);
}

#[test]
fn rbm_bad_input_names_the_place() {
    let d = scratch("rbm-bad");
    let model = d.join("m.json");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/digits.csv");
    // Unscaled pixels (0..16) are outside [0, 1].
    let o = bin()
        .args(["rbm", "train", data, "--labels-last"])
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("digits.csv:") && err.contains("column") && err.contains("--divide-by"),
        "{err}"
    );
    assert!(!model.exists());
    // A broken model file.
    std::fs::write(&model, "{\"format\": \"boltzmax-rbm\", \"version\": 1, \"visible_bias\": [0], \"hidden_bias\": [0], \"weights\": [[\"x\"]]}").unwrap();
    let o = bin()
        .args(["rbm", "sample"])
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"weights\"[0][0]"), "{err}");
}
