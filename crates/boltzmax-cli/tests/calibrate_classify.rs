//! `boltzmax calibrate` and `boltzmax classify` run as the real binary
//! against fixtures in `tests/data/` and the shipped `data/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_boltzmax"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn repo_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

/// A fresh scratch directory per test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("boltzmax-calib-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_matrix(path: &Path) -> (Vec<f64>, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut k = 0;
    let mut v = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: Vec<f64> = line.split(',').map(|t| t.trim().parse().unwrap()).collect();
        k = row.len();
        v.extend(row);
    }
    (v, k)
}

fn read_ints(path: &Path) -> Vec<usize> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

#[test]
fn calibrate_prints_the_library_temperature_and_writes_probabilities_and_plots() {
    let dir = scratch("ok");
    let out = dir.join("cal.csv");
    let png = dir.join("rel.png");
    let o = run(bin()
        .args(["calibrate", "--format", "json", "--logits"])
        .arg(fixture("calib_val_logits.csv"))
        .arg("--labels")
        .arg(fixture("calib_val_labels.txt"))
        .arg("--apply")
        .arg(fixture("calib_test_logits.csv"))
        .arg("--test-labels")
        .arg(fixture("calib_test_labels.txt"))
        .arg("-o")
        .arg(&out)
        .arg("--plot")
        .arg(&png));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();

    let (z, k) = read_matrix(&fixture("calib_val_logits.csv"));
    let y = read_ints(&fixture("calib_val_labels.txt"));
    let fit = boltzmax::learn::calibrate::fit_temperature(&z, k, &y).unwrap();
    assert_eq!(v["fit"]["temperature"].as_f64().unwrap(), fit.temperature);
    assert_eq!(v["fit"]["beta"].as_f64().unwrap(), fit.beta);
    assert!((v["validation"]["after"]["nll"].as_f64().unwrap() - fit.nll).abs() < 1e-15);
    assert!(v["test"]["after"]["ece"].as_f64().is_some());

    // Calibrated probabilities of the test set: softmax(z / T), rows of 1.
    let (p, kp) = read_matrix(&out);
    let (zt, _) = read_matrix(&fixture("calib_test_logits.csv"));
    assert_eq!((kp, p.len()), (3, zt.len()));
    for (pi, zi) in p.chunks(3).zip(zt.chunks(3)) {
        assert!((pi.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let expect = boltzmax::softmax_with(zi, &boltzmax::Params::beta(fit.beta).unwrap());
        for (a, b) in pi.iter().zip(&expect) {
            assert!((a - b).abs() <= 1e-15 + 1e-14 * b, "{a} vs {b}");
        }
    }
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));

    // Text summary names T and 1/T; SVG plots work too.
    let svg = dir.join("rel.svg");
    let o = run(bin()
        .args(["calibrate", "--logits"])
        .arg(fixture("calib_val_logits.csv"))
        .arg("--labels")
        .arg(fixture("calib_val_labels.txt"))
        .arg("--plot")
        .arg(&svg));
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(
        s.contains("temperature T = ") && s.contains("beta = 1/T = "),
        "{s}"
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

#[test]
fn calibrate_vector_and_matrix_methods_run() {
    for method in ["vector", "matrix"] {
        let o = run(bin()
            .args([
                "calibrate",
                "--format",
                "json",
                "--method",
                method,
                "--logits",
            ])
            .arg(fixture("calib_val_logits.csv"))
            .arg("--labels")
            .arg(fixture("calib_val_labels.txt")));
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let before = v["validation"]["before"]["nll"].as_f64().unwrap();
        let after = v["validation"]["after"]["nll"].as_f64().unwrap();
        assert!(after < before, "{method}: {after} >= {before}");
    }
}

/// Runs a failing command: exit 2, one line on stderr containing every
/// `needle`, nothing on stdout, and no output file.
fn fails(args: &[&std::ffi::OsStr], needles: &[&str]) {
    let dir = scratch(&format!("fail{}", needles[0].len()));
    let out = dir.join("never.csv");
    let o = run(bin().args(args).arg("-o").arg(&out));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    for n in needles {
        assert!(e.contains(n), "'{n}' not in: {e}");
    }
    assert!(stdout(&o).is_empty());
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "a temporary file was left behind"
    );
}

#[test]
fn calibrate_bad_input_is_one_line_and_exit_2() {
    let os = |s: &str| std::ffi::OsString::from(s);
    let f = |s: &str| fixture(s).into_os_string();
    let cases: Vec<(Vec<std::ffi::OsString>, Vec<&str>)> = vec![
        (
            vec![
                os("calibrate"),
                os("--logits"),
                f("calib_val_logits.csv"),
                os("--labels"),
                f("calib_labels_short.txt"),
            ],
            vec!["calib_labels_short.txt has 39 labels", "40 rows"],
        ),
        (
            vec![
                os("calibrate"),
                os("--logits"),
                f("calib_val_logits.csv"),
                os("--labels"),
                f("calib_labels_out_of_range.txt"),
            ],
            vec![
                "calib_labels_out_of_range.txt:5",
                "label 3 is out of range for 3 classes",
            ],
        ),
        (
            vec![
                os("calibrate"),
                os("--logits"),
                f("calib_logits_nan.csv"),
                os("--labels"),
                f("calib_val_labels.txt"),
            ],
            vec![
                "calib_logits_nan.csv:7, column 2",
                "logit NaN is not finite",
            ],
        ),
        (
            vec![
                os("calibrate"),
                os("--probabilities"),
                os("--logits"),
                f("calib_val_logits.csv"),
                os("--labels"),
                f("calib_val_labels.txt"),
            ],
            vec![
                "calib_val_logits.csv:1, column 2",
                "3.673191 is not a probability",
            ],
        ),
        (
            vec![
                os("calibrate"),
                os("--logits"),
                f("calib_val_logits.csv"),
                os("--labels"),
                f("calib_val_labels.txt"),
                os("--apply"),
                f("calib_logits_nan.csv"),
            ],
            vec!["calib_logits_nan.csv:7"],
        ),
        (
            vec![
                os("calibrate"),
                os("--logits"),
                f("missing.csv"),
                os("--labels"),
                f("calib_val_labels.txt"),
            ],
            vec!["missing.csv"],
        ),
    ];
    for (args, needles) in cases {
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        fails(&refs, &needles);
    }
}

#[test]
fn classify_trains_iris_to_scikit_learns_optimum_and_predicts() {
    // train + valid rows of iris: scikit-learn's C = 1 optimum is
    // 0.2225670970 (benches/peers/classify_reference.py).
    let dir = scratch("iris");
    let mut rows: Vec<usize> = ["train", "valid"]
        .iter()
        .flat_map(|p| read_ints(&repo_data(&format!("splits/iris_{p}.txt"))))
        .collect();
    rows.sort_unstable();
    let rows_file = dir.join("fit_rows.txt");
    std::fs::write(
        &rows_file,
        rows.iter().map(|r| format!("{r}\n")).collect::<String>(),
    )
    .unwrap();
    let model = dir.join("iris.json");
    let o = run(bin()
        .args(["classify", "train"])
        .arg(repo_data("iris.csv"))
        .arg("--rows")
        .arg(&rows_file)
        .arg("--model")
        .arg(&model));
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let obj = m["objective"].as_f64().unwrap();
    assert!(((obj - 0.2225670970) / 0.2225670970).abs() < 1e-9, "{obj}");

    let probs = dir.join("p.csv");
    let o = run(bin()
        .args(["classify", "predict"])
        .arg(repo_data("iris.csv"))
        .arg("--rows")
        .arg(repo_data("splits/iris_test.txt"))
        .arg("--model")
        .arg(&model)
        .args(["--write", "probabilities", "-T", "2", "-o"])
        .arg(&probs));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("accuracy 1.000000  (38/38)"),
        "{}",
        stdout(&o)
    );
    let (p, k) = read_matrix(&probs);
    assert_eq!((k, p.len()), (3, 38 * 3));

    // Bad input: labels file of the wrong length; features that are not numbers.
    let short = dir.join("short.txt");
    std::fs::write(&short, "0\n1\n").unwrap();
    let o = run(bin()
        .args(["classify", "train"])
        .arg(repo_data("iris.csv"))
        .arg("--labels")
        .arg(&short)
        .arg("--model")
        .arg(dir.join("never.json")));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has 2 labels but"), "{}", stderr(&o));
    assert!(!dir.join("never.json").exists());
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "a,b,label\n1,2,0\n3,x,1\n").unwrap();
    let o = run(bin()
        .args(["classify", "train"])
        .arg(&bad)
        .arg("--model")
        .arg(dir.join("never.json")));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.csv:3: column 2: 'x' is not a number"),
        "{}",
        stderr(&o)
    );
}
