//! `boltzmax ensemble` run as the real binary on the fixtures in tests/data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_boltzmax"))
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("boltzmax-ens-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = bin()
        .arg("ensemble")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn csv_with_degeneracy_and_property_matches_the_hand_computation() {
    // The same set as the library's hand-checked test: 0, 0.5, 1.2 kcal/mol,
    // g = 1, 2, 1, 298.15 K; 40-digit reference values.
    let v = json(&[&data("ens_hand.csv")]);
    let p: Vec<f64> = v["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| f(&l["population"]))
        .collect();
    let want = [
        0.502_007_346_206_981_7,
        0.431_755_148_300_891_5,
        0.066_237_505_492_126_81,
    ];
    for (a, b) in p.iter().zip(want) {
        assert!((a - b).abs() < 2e-16, "{a} vs {b}");
    }
    let s = &v["summary"];
    assert!((f(&s["F"]) + 0.408_305_389_607_860_8).abs() < 1e-15);
    assert!((f(&s["Cv"]) - 0.330_681_018_688_945_7).abs() < 1e-14);
    assert!((f(&s["G_goodvibes"]) - f(&s["G_censo"]) - f(&s["G_crest"])).abs() < 1e-15);
    assert_eq!(s["Cv_unit"], "R");
    let d = &s["properties"][0];
    assert_eq!(d["name"], "dipole");
    let mean: f64 = p.iter().zip([0.10, 0.35, 0.80]).map(|(p, x)| p * x).sum();
    assert!((f(&d["mean"]) - mean).abs() < 1e-15);
    assert!((f(&v["levels"][2]["cumulative"]) - 1.0).abs() < 1e-15);
}

#[test]
fn xyz_list_and_stdin() {
    let v = json(&[&data("ens_butane.xyz")]);
    assert_eq!(v["unit"], "Eh");
    let lv = v["levels"].as_array().unwrap();
    assert_eq!(lv.len(), 3);
    // Two gauche conformers 0.0009935 Eh above anti: p_g / p_a = e^(-dE/kT).
    let kt = f(&v["summary"]["kT"]);
    let ratio = f(&lv[1]["population"]) / f(&lv[0]["population"]);
    assert!((ratio - (-0.000_993_5 / kt).exp()).abs() < 1e-9, "{ratio}");
    assert!((kt - 0.000_944_184_9).abs() < 1e-10);

    // A plain list with a duplicated level equals the CSV with g = 2.
    let l = json(&[&data("ens_list.txt")]);
    let c = json(&[&data("ens_hand.csv")]);
    assert!((f(&l["summary"]["F"]) - f(&c["summary"]["F"])).abs() < 1e-15);
    assert!((f(&l["summary"]["S_conf"]) - f(&c["summary"]["S_conf"])).abs() < 1e-14);

    let mut child = bin()
        .args(["ensemble", "-", "--unit", "kJ/mol", "-f", "csv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"0\n2.5\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("index,name,energy,relative_energy"),
        "{text}"
    );
    assert!(text.contains("\nquantity,value,unit,si_value,si_unit\n"));
}

#[test]
fn sweeps_constants_reference_cutoff_and_window() {
    let v = json(&[&data("ens_hand.csv"), "--sweep", "100:400:50"]);
    let pts = v["points"].as_array().unwrap();
    assert_eq!(pts.len(), 7);
    // Each point equals the single-temperature run at that T.
    let one = json(&[&data("ens_hand.csv"), "-t", "250"]);
    assert_eq!(f(&pts[3]["Cv"]), f(&one["summary"]["Cv"]));
    assert_eq!(
        f(&pts[3]["populations"][1]),
        f(&one["levels"][1]["population"])
    );
    let lg = json(&[&data("ens_hand.csv"), "--sweep-log", "10:1000:5"]);
    assert_eq!(lg["points"].as_array().unwrap().len(), 5);
    assert_eq!(f(&lg["points"][4]["temperature_K"]), 1000.0);

    // GoodVibes constants move hartree populations by 1e-9..1e-6.
    let a = json(&[&data("ens_butane.xyz")]);
    let b = json(&[&data("ens_butane.xyz"), "--constants", "goodvibes"]);
    let d = (f(&a["levels"][0]["population"]) - f(&b["levels"][0]["population"])).abs();
    assert!(d > 1e-9 && d < 1e-6, "{d}");

    // Reference: level 2 (0.5 kcal/mol) as zero shifts U and F by -0.5.
    let r = json(&[&data("ens_hand.csv"), "--relative", "level:2"]);
    let m = json(&[&data("ens_hand.csv")]);
    assert!((f(&r["summary"]["F"]) - (f(&m["summary"]["F"]) - 0.5)).abs() < 1e-15);
    assert_eq!(f(&r["summary"]["S"]), f(&m["summary"]["S"]));

    // Window 1 kcal/mol drops the 1.2 level; cutoff 90% keeps two levels.
    for opts in [["--window", "1.0"], ["--cutoff", "90%"]] {
        let w = json(&[&data("ens_hand.csv"), opts[0], opts[1]]);
        assert_eq!(w["levels"].as_array().unwrap().len(), 2, "{opts:?}");
        assert_eq!(w["dropped"], 1);
        let p0 = f(&w["levels"][0]["population"]);
        assert!((p0 - 1.0 / (1.0 + 2.0 * (-0.5 / f(&w["summary"]["kT"])).exp())).abs() < 1e-15);
    }
}

#[test]
fn text_table_names_each_free_energy() {
    let o = bin()
        .args(["ensemble", &data("ens_hand.csv")])
        .output()
        .unwrap();
    assert!(o.status.success());
    let t = String::from_utf8(o.stdout).unwrap();
    for needle in [
        "population %",
        "cumulative %",
        "GoodVibes",
        "CENSO",
        "CREST",
        "S_conf",
        "ln Z",
        "100.000000",
    ] {
        assert!(t.contains(needle), "missing {needle:?} in\n{t}");
    }
}

#[test]
fn bad_input_names_file_and_line_exits_2_and_writes_nothing() {
    let dir = scratch("bad");
    let cases = [
        (
            "ens_bad_token.csv",
            vec![],
            "line 3: energy \"abc\" is not a number",
        ),
        (
            "ens_bad_deg.csv",
            vec![],
            "line 4: degeneracy \"-2\" must be > 0",
        ),
        (
            "ens_bad_nan.txt",
            vec![],
            "line 2: energy \"NaN\" is not finite",
        ),
        (
            "ens_bad_atoms.xyz",
            vec![],
            "line 32: structure 2 (line 17) declares 14 atoms but has 13",
        ),
        (
            "ens_hand.csv",
            vec!["-t", "0"],
            "temperature must be finite and > 0",
        ),
        (
            "ens_hand.csv",
            vec!["-t", "-5"],
            "temperature must be finite and > 0",
        ),
        ("ens_hand.csv", vec!["--sweep", "300:100:10"], "--sweep"),
        ("ens_hand.csv", vec!["--cutoff", "1.5"], "--cutoff"),
        ("ens_hand.csv", vec!["--unit", "furlong"], "--unit"),
    ];
    for (file, extra, want) in cases {
        let out = dir.join("out.json");
        let plot = dir.join("p.svg");
        let o: Output = bin()
            .args(["ensemble", &data(file), "-o"])
            .arg(&out)
            .arg("--plot")
            .arg(&plot)
            .args(&extra)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{file} {extra:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(want), "{file}: {err}");
        if !file.starts_with("ens_hand") {
            assert!(err.contains(file), "names the file: {err}");
        }
        assert!(!out.exists() && !plot.exists(), "no output for {file}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "no temp files left"
        );
    }
    let missing = bin()
        .args(["ensemble", "/nonexistent/e.csv"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn plots_svg_and_png() {
    let dir = scratch("plot");
    for (name, sweep) in [
        ("bars.svg", false),
        ("bars.png", false),
        ("sweep.svg", true),
        ("sweep.png", true),
    ] {
        let p = dir.join(name);
        let mut cmd = bin();
        cmd.args(["ensemble", &data("ens_butane.xyz"), "--plot"])
            .arg(&p);
        if sweep {
            cmd.args(["--sweep", "50:1000:10"]);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let bytes = std::fs::read(&p).unwrap();
        if name.ends_with(".svg") {
            let s = String::from_utf8(bytes).unwrap();
            assert!(s.contains("<svg") && s.contains("population"), "{name}");
        } else {
            assert_eq!(&bytes[1..4], b"PNG", "{name}");
            assert!(bytes.len() > 5000, "{name}: {} bytes", bytes.len());
        }
    }
}
