//! `boltzmax softmax | log-softmax | logsumexp`, run as a real binary on the
//! fixtures in `tests/data/`. Every printed number is parsed back and
//! compared bit for bit with the library's answer on the same input, so
//! these tests check the command line (parsing, axes, options, formats,
//! errors); the library's own tests check the numerics.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use boltzmax::Params;
use ndarray::{ArrayD, Axis};
use ndarray_npy::ReadNpyExt;

const BIN: &str = env!("CARGO_BIN_EXE_boltzmax");

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory for output files of one test.
fn scratch(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-rows-{test}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn run_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The binary may reject its arguments and exit before reading stdin;
    // writing to the closed pipe then fails with BrokenPipe, which is not
    // the test's concern (its output and status are).
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// Runs and expects success; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "boltzmax {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and expects a one-line error with status 2; returns the line.
fn fails(args: &[&str]) -> String {
    check_failure(run(args), args)
}

fn check_failure(out: Output, args: &[&str]) -> String {
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "boltzmax {args:?}: {err}");
    assert!(out.stdout.is_empty(), "stdout on error: {:?}", out.stdout);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("boltzmax: "), "{err}");
    err.trim_end().to_string()
}

/// The test's own reading of a text fixture (independent of the binary's).
fn rows_of<F: std::str::FromStr>(path: &str) -> Vec<Vec<F>>
where
    F::Err: std::fmt::Debug,
{
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split('#').next().unwrap())
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
                .map(|t| t.parse().unwrap())
                .collect()
        })
        .collect()
}

fn mask_rows(path: &str) -> Vec<Vec<bool>> {
    rows_of::<String>(path)
        .into_iter()
        .map(|r| {
            r.iter()
                .map(|t| matches!(t.to_ascii_lowercase().as_str(), "1" | "true"))
                .collect()
        })
        .collect()
}

/// Parses text output (spaces) or CSV (commas) into rows.
fn parse_rows<F: std::str::FromStr>(text: &str, sep: char) -> Vec<Vec<F>>
where
    F::Err: std::fmt::Debug,
{
    text.lines()
        .map(|l| {
            if l.is_empty() {
                Vec::new()
            } else {
                l.split(sep)
                    .map(|t| t.parse().unwrap_or_else(|e| panic!("{t:?}: {e:?}")))
                    .collect()
            }
        })
        .collect()
}

/// Bitwise equality, NaN equal to NaN.
fn same<F: boltzmax::Real>(a: F, b: F) -> bool {
    (a.is_nan() && b.is_nan()) || a.total_cmp(&b).is_eq()
}

#[track_caller]
fn assert_rows_eq<F: boltzmax::Real>(got: &[Vec<F>], want: &[Vec<F>]) {
    assert_eq!(got.len(), want.len(), "row count: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "row {i}: {g:?} vs {w:?}");
        for (j, (&a, &b)) in g.iter().zip(w).enumerate() {
            assert!(same(a, b), "row {i}, column {j}: got {a:?}, want {b:?}");
        }
    }
}

fn map_rows<F: Copy>(rows: &[Vec<F>], f: impl Fn(&[F]) -> Vec<F>) -> Vec<Vec<F>> {
    rows.iter().map(|r| f(r)).collect()
}

// ---------------------------------------------------------------- results

#[test]
fn softmax_log_softmax_logsumexp_match_the_library_bitwise() {
    let x = rows_of::<f64>(&data("rows.txt"));
    let p = Params::default();
    let got = parse_rows::<f64>(&ok(&["softmax", &data("rows.txt")]), ' ');
    assert_rows_eq(&got, &map_rows(&x, |r| boltzmax::softmax_with(r, &p)));
    let got = parse_rows::<f64>(&ok(&["log-softmax", &data("rows.txt")]), ' ');
    assert_rows_eq(&got, &map_rows(&x, |r| boltzmax::log_softmax_with(r, &p)));
    let got = parse_rows::<f64>(&ok(&["logsumexp", &data("rows.txt")]), ' ');
    assert_rows_eq(
        &got,
        &map_rows(&x, |r| vec![boltzmax::logsumexp_with(r, &p)]),
    );
}

#[test]
fn edge_case_rows_follow_the_convention_table() {
    let got = parse_rows::<f64>(&ok(&["softmax", &data("rows.txt")]), ' ');
    assert_eq!(got[3], vec![0.0, 1.0, 0.0]); // one +inf: one-hot
    assert!(got[4].iter().all(|v| v.is_nan())); // all -inf: undefined
    assert!(got[5].iter().all(|v| v.is_nan())); // a NaN: NaN
    assert_eq!(got[2][0], got[2][1]); // ties share
    let lse = parse_rows::<f64>(&ok(&["logsumexp", &data("rows.txt")]), ' ');
    assert_eq!(lse[3][0], f64::INFINITY);
    assert_eq!(lse[4][0], f64::NEG_INFINITY);
    assert!(lse[5][0].is_nan());
    let ls = parse_rows::<f64>(&ok(&["log-softmax", &data("rows.txt")]), ' ');
    assert_eq!(ls[3], vec![f64::NEG_INFINITY, 0.0, f64::NEG_INFINITY]);
    // log_softmax([0, -40, -1e300]) keeps its tiny nonzero first entry.
    assert!(ls[1][0] < 0.0 && ls[1][0] > -1e-16);
}

#[test]
fn temperature_and_beta() {
    let x = rows_of::<f64>(&data("rows.txt"));
    for t in ["0.5", "3", "1e-310"] {
        let p = Params::temperature(t.parse().unwrap()).unwrap();
        let got = parse_rows::<f64>(&ok(&["softmax", "-t", t, &data("rows.txt")]), ' ');
        assert_rows_eq(&got, &map_rows(&x, |r| boltzmax::softmax_with(r, &p)));
        let got = parse_rows::<f64>(
            &ok(&["logsumexp", "--temperature", t, &data("rows.txt")]),
            ' ',
        );
        assert_rows_eq(
            &got,
            &map_rows(&x, |r| vec![boltzmax::logsumexp_with(r, &p)]),
        );
    }
    for b in ["-2", "0", "0.25"] {
        let p = Params::beta(b.parse().unwrap()).unwrap();
        let got = parse_rows::<f64>(&ok(&["log-softmax", "--beta", b, &data("rows.txt")]), ' ');
        assert_rows_eq(&got, &map_rows(&x, |r| boltzmax::log_softmax_with(r, &p)));
    }
}

#[test]
fn dtype_f32_computes_in_f32() {
    let x = rows_of::<f32>(&data("rows.txt"));
    let p = Params::<f32>::temperature(0.7).unwrap();
    let text = ok(&["softmax", "--dtype", "f32", "-t", "0.7", &data("rows.txt")]);
    let got = parse_rows::<f32>(&text, ' ');
    assert_rows_eq(&got, &map_rows(&x, |r| boltzmax::softmax_with(r, &p)));
    // Printed as f32's shortest decimals, not as widened f64 values.
    assert!(text.split_whitespace().all(|t| t.len() <= 15), "{text}");
    let got = parse_rows::<f32>(
        &ok(&["logsumexp", "--dtype", "f32", &data("rows.txt")]),
        ' ',
    );
    assert_rows_eq(&got, &map_rows(&x, |r| vec![boltzmax::logsumexp(r)]));
    // The f64 answer differs (more digits) on the first row.
    let f64_text = ok(&["softmax", "-t", "0.7", &data("rows.txt")]);
    assert_ne!(text.lines().next(), f64_text.lines().next());
}

#[test]
fn stdin_reads_the_same_as_a_file() {
    let input = std::fs::read(data("rows.txt")).unwrap();
    for cmd in ["softmax", "log-softmax", "logsumexp"] {
        let via_file = ok(&[cmd, &data("rows.txt")]);
        let out = run_stdin(&[cmd, "-"], &input);
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap(), via_file);
        // No FILE argument means stdin too.
        let out = run_stdin(&[cmd], &input);
        assert_eq!(String::from_utf8(out.stdout).unwrap(), via_file);
    }
    // .npy through stdin, recognised by its magic bytes.
    let npy = std::fs::read(data("cube_f64.npy")).unwrap();
    let out = run_stdin(&["softmax", "-", "-f", "json"], &npy);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        ok(&["softmax", &data("cube_f64.npy"), "-f", "json"])
    );
}

#[test]
fn printed_numbers_round_trip_and_stay_short() {
    // softmax([0, -690]) has a second entry near 1e-300; it must print in
    // exponent form and parse back to the same f64.
    let out = run_stdin(&["softmax"], b"0 -690\n0 -745\n1e-5 123456789\n");
    let text = String::from_utf8(out.stdout).unwrap();
    for t in text.split_whitespace() {
        assert!(t.len() <= 24, "{t}");
    }
    let got = parse_rows::<f64>(&text, ' ');
    let x = [
        vec![0.0, -690.0],
        vec![0.0, -745.0],
        vec![1e-5, 123456789.0],
    ];
    assert_rows_eq(&got, &map_rows(&x, boltzmax::softmax));
    assert!(got[1][1] > 0.0 && got[1][1] < f64::MIN_POSITIVE); // subnormal kept
    assert!(text.contains("e-"), "{text}");
}

// ---------------------------------------------------------------- formats

#[test]
fn csv_output_parses_back() {
    let x = rows_of::<f64>(&data("rows.txt"));
    let got = parse_rows::<f64>(&ok(&["softmax", "-f", "csv", &data("rows.txt")]), ',');
    assert_rows_eq(&got, &map_rows(&x, boltzmax::softmax));
    let got = parse_rows::<f64>(
        &ok(&[
            "logsumexp",
            "--format",
            "csv",
            "--return-sign",
            &data("rows.txt"),
        ]),
        ',',
    );
    assert!(got.iter().all(|r| r.len() == 2));
}

fn json_value_to_f64(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::Number(n) => n.as_f64().unwrap(),
        serde_json::Value::String(s) => s.parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

#[test]
fn json_output_parses_back() {
    let x = rows_of::<f64>(&data("rows.txt"));
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["log-softmax", "-f", "json", &data("rows.txt")])).unwrap();
    let got: Vec<Vec<f64>> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(json_value_to_f64)
                .collect()
        })
        .collect();
    assert_rows_eq(&got, &map_rows(&x, boltzmax::log_softmax));
    // logsumexp: one number per row.
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["logsumexp", "-f", "json", &data("rows.txt")])).unwrap();
    let got: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(json_value_to_f64)
        .collect();
    let want: Vec<f64> = x.iter().map(|r| boltzmax::logsumexp(r)).collect();
    assert_rows_eq(&[got], &[want]);
    // Ragged rows are fine in JSON.
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["softmax", "-f", "json", &data("ragged.txt")])).unwrap();
    let lens: Vec<usize> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().len())
        .collect();
    assert_eq!(lens, vec![3, 2, 1]);
}

#[test]
fn npy_output_to_a_file_parses_back() {
    let dir = scratch("npy_out");
    let x = rows_of::<f64>(&data("flat12.txt"));
    // The format follows the extension.
    let path = dir.join("p.npy");
    ok(&["softmax", &data("flat12.txt"), "-o", path.to_str().unwrap()]);
    let a = ArrayD::<f64>::read_npy(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(a.shape(), &[2, 6]);
    let got: Vec<Vec<f64>> = a
        .outer_iter()
        .map(|r| r.iter().copied().collect::<Vec<f64>>())
        .collect();
    assert_rows_eq(&got, &map_rows(&x, boltzmax::softmax));
    // f32 results are stored as f32.
    let path = dir.join("q.out");
    ok(&[
        "logsumexp",
        "--dtype",
        "f32",
        "--return-sign",
        &data("flat12.txt"),
        "-f",
        "npy",
        "-o",
        path.to_str().unwrap(),
    ]);
    let a = ArrayD::<f32>::read_npy(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(a.shape(), &[2, 2]);
    let xf = rows_of::<f32>(&data("flat12.txt"));
    assert_eq!(a[[1, 0]], boltzmax::logsumexp(&xf[1]));
    assert_eq!(a[[1, 1]], 1.0);
    // No temporary file left beside the outputs.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn output_file_in_text_and_json() {
    let dir = scratch("text_out");
    let path = dir.join("p.json");
    ok(&[
        "softmax",
        &data("rows.txt"),
        "--output",
        path.to_str().unwrap(),
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 8);
    let path = dir.join("p.txt");
    let stdout = ok(&["softmax", &data("rows.txt"), "-o", path.to_str().unwrap()]);
    assert!(stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        ok(&["softmax", &data("rows.txt")])
    );
}

// ---------------------------------------------------------- axes and shapes

/// The library applied along `axis` of `a` by ndarray's own lane iteration.
fn along_axis(a: &ArrayD<f64>, axis: usize, f: impl Fn(&[f64]) -> Vec<f64>) -> ArrayD<f64> {
    let mut out = a.clone();
    for (mut o, lane) in out
        .lanes_mut(Axis(axis))
        .into_iter()
        .zip(a.lanes(Axis(axis)))
    {
        let y = f(&lane.to_vec());
        for (d, s) in o.iter_mut().zip(y) {
            *d = s;
        }
    }
    out
}

fn npy_out(args: &[&str], test: &str) -> ArrayD<f64> {
    let dir = scratch(test);
    let path = dir.join("out.npy");
    let mut a: Vec<&str> = args.to_vec();
    let p = path.to_str().unwrap().to_string();
    a.extend(["-o", &p]);
    ok(&a);
    ArrayD::<f64>::read_npy(std::fs::File::open(&path).unwrap()).unwrap()
}

#[test]
fn npy_input_every_axis() {
    let x = ArrayD::<f64>::read_npy(std::fs::File::open(data("cube_f64.npy")).unwrap()).unwrap();
    let p = Params::temperature(2.0).unwrap();
    for (axis, k) in [
        ("0", 0),
        ("1", 1),
        ("2", 2),
        ("-1", 2),
        ("-2", 1),
        ("-3", 0),
    ] {
        let got = npy_out(
            &[
                "log-softmax",
                &data("cube_f64.npy"),
                "--axis",
                axis,
                "-t",
                "2",
            ],
            "axis",
        );
        let want = along_axis(&x, k, |r| boltzmax::log_softmax_with(r, &p));
        assert_eq!(got.shape(), want.shape());
        for (g, w) in got.iter().zip(&want) {
            assert!(same(*g, *w), "axis {axis}: {g} vs {w}");
        }
        // logsumexp removes the axis.
        let got = npy_out(
            &[
                "logsumexp",
                &data("cube_f64.npy"),
                "--axis",
                axis,
                "-t",
                "2",
            ],
            "axis_lse",
        );
        let want = x.map_axis(Axis(k), |lane| boltzmax::logsumexp_with(&lane.to_vec(), &p));
        assert_eq!(got.shape(), want.shape());
        for (g, w) in got.iter().zip(&want) {
            assert!(same(*g, *w), "axis {axis}: {g} vs {w}");
        }
    }
    // A Fortran-ordered file holds the same logical array.
    assert_eq!(
        ok(&["softmax", &data("cube_fortran.npy"), "--axis", "1"]),
        ok(&["softmax", &data("cube_f64.npy"), "--axis", "1"])
    );
    // Text output of a 3-d array: one last-axis row per line.
    assert_eq!(ok(&["softmax", &data("cube_f64.npy")]).lines().count(), 6);
    // logsumexp text keeps one result per input row.
    assert_eq!(ok(&["logsumexp", &data("cube_f64.npy")]).lines().count(), 6);
    // Along axis 0 the result prints as the (1, 3, 4) array it is with the
    // axis kept: 3 lines of 4.
    assert_eq!(
        ok(&["logsumexp", &data("cube_f64.npy"), "--axis", "0"])
            .lines()
            .count(),
        3
    );
}

#[test]
fn npy_dtypes() {
    // An f32 file is widened exactly under the default --dtype f64 ...
    let x = ArrayD::<f32>::read_npy(std::fs::File::open(data("matrix_f32.npy")).unwrap()).unwrap();
    let got = parse_rows::<f64>(&ok(&["softmax", &data("matrix_f32.npy")]), ' ');
    let want: Vec<Vec<f64>> = x
        .outer_iter()
        .map(|r| boltzmax::softmax(&r.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()))
        .collect();
    assert_rows_eq(&got, &want);
    // ... and computed in f32 with --dtype f32.
    let got = parse_rows::<f32>(
        &ok(&["softmax", "--dtype", "f32", &data("matrix_f32.npy")]),
        ' ',
    );
    let want: Vec<Vec<f32>> = x
        .outer_iter()
        .map(|r| boltzmax::softmax(&r.iter().copied().collect::<Vec<f32>>()))
        .collect();
    assert_rows_eq(&got, &want);
    // 1-d and 0-d arrays.
    let got = parse_rows::<f64>(&ok(&["softmax", &data("vector.npy")]), ' ');
    assert_rows_eq(&got, &[boltzmax::softmax(&[0.5, -1.0, 2.0])]);
    let v: f64 = ok(&["logsumexp", &data("vector.npy"), "-f", "json"])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(v, boltzmax::logsumexp(&[0.5, -1.0, 2.0]));
    let err = fails(&["softmax", &data("scalar.npy")]);
    assert!(
        err.contains("axis -1 is out of range for an array of 0 dimensions"),
        "{err}"
    );
}

#[test]
fn shape_reshapes_a_flat_stream() {
    // 12 numbers on two lines, read as 3 x 4 and worked down the columns.
    let got = npy_out(
        &[
            "softmax",
            &data("flat12.txt"),
            "--shape",
            "3,4",
            "--axis",
            "0",
        ],
        "shape",
    );
    let x = ArrayD::from_shape_vec(vec![3, 4], (1..=12).map(f64::from).collect()).unwrap();
    let want = along_axis(&x, 0, boltzmax::softmax);
    assert_eq!(got, want);
    // One dimension inferred; stdin.
    let out = run_stdin(&["logsumexp", "--shape", "-1x2"], b"1\n2\n3\n4\n5\n6\n");
    let got = parse_rows::<f64>(&String::from_utf8(out.stdout).unwrap(), ' ');
    assert_rows_eq(
        &got,
        &[
            vec![boltzmax::logsumexp(&[1.0, 2.0])],
            vec![boltzmax::logsumexp(&[3.0, 4.0])],
            vec![boltzmax::logsumexp(&[5.0, 6.0])],
        ],
    );
    let err = fails(&["softmax", &data("flat12.txt"), "--shape", "5,2"]);
    assert!(
        err.ends_with("--shape 5,2 needs 10 values, found 12"),
        "{err}"
    );
    let err = fails(&["softmax", &data("flat12.txt"), "--shape", "5,-1"]);
    assert!(
        err.ends_with("--shape 5,-1 does not fit 12 values"),
        "{err}"
    );
    let out = run(&["softmax", &data("flat12.txt"), "--shape", "a,2"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn ragged_rows_and_square_rows_with_axis_zero() {
    let x = rows_of::<f64>(&data("ragged.txt"));
    let got = parse_rows::<f64>(&ok(&["softmax", &data("ragged.txt")]), ' ');
    assert_rows_eq(&got, &map_rows(&x, boltzmax::softmax));
    let err = fails(&["softmax", &data("ragged.txt"), "--axis", "0"]);
    assert!(
        err.contains("--axis 0 needs rows of equal length, got rows of lengths [3, 2, 1]"),
        "{err}"
    );
    let err = fails(&[
        "softmax",
        &data("ragged.txt"),
        "-f",
        "npy",
        "-o",
        "/nonexistent/x.npy",
    ]);
    assert!(err.contains("npy needs rows of equal length"), "{err}");
    // Equal rows are a matrix: axis 0 works down its columns.
    let got = parse_rows::<f64>(&ok(&["logsumexp", &data("flat12.txt"), "--axis", "0"]), ' ');
    let want: Vec<f64> = (1..=6)
        .map(|j| boltzmax::logsumexp(&[j as f64, (j + 6) as f64]))
        .collect();
    assert_rows_eq(&got, &[want]);
}

#[test]
fn empty_rows_and_empty_input() {
    // (3, 0): softmax of each empty row is empty; logsumexp is -inf.
    assert_eq!(ok(&["softmax", &data("empty_rows.npy")]), "\n\n\n");
    assert_eq!(
        ok(&["logsumexp", &data("empty_rows.npy")]),
        "-inf\n-inf\n-inf\n"
    );
    let out = run_stdin(&["logsumexp", "--shape", "2,0"], b"");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "-inf\n-inf\n");
    assert_eq!(ok(&["softmax", &data("empty.txt")]), "");
    assert_eq!(ok(&["softmax", &data("comment_only.txt")]), "");
    assert_eq!(ok(&["softmax", &data("empty.txt"), "-f", "json"]), "[]\n");
}

// ------------------------------------------------------ masks and weights

#[test]
fn mask_ignores_entries_even_nan_and_inf() {
    let x = rows_of::<f64>(&data("rows.txt"));
    let m = mask_rows(&data("rows_mask.txt"));
    let p = Params::temperature(0.5).unwrap();
    for (cmd, f) in [
        (
            "softmax",
            boltzmax::softmax_masked::<f64>
                as fn(&[f64], &[bool], &Params<f64>) -> boltzmax::Result<Vec<f64>>,
        ),
        ("log-softmax", boltzmax::log_softmax_masked::<f64>),
    ] {
        let got = parse_rows::<f64>(
            &ok(&[
                cmd,
                &data("rows.txt"),
                "--mask",
                &data("rows_mask.txt"),
                "-t",
                "0.5",
            ]),
            ' ',
        );
        let want: Vec<Vec<f64>> = x
            .iter()
            .zip(&m)
            .map(|(r, k)| f(r, k, &p).unwrap())
            .collect();
        assert_rows_eq(&got, &want);
    }
    let got = parse_rows::<f64>(
        &ok(&[
            "softmax",
            &data("rows.txt"),
            "--mask",
            &data("rows_mask.txt"),
        ]),
        ' ',
    );
    // Row "0 inf -1" with mask "1 0 1": the +inf is ignored.
    assert_rows_eq(
        &got[3..4],
        &[vec![
            1.0 / (1.0 + (-1f64).exp()),
            0.0,
            (-1f64).exp() / (1.0 + (-1f64).exp()),
        ]],
    );
    assert!(!got[5].iter().any(|v| v.is_nan())); // so is the NaN
    let got = parse_rows::<f64>(
        &ok(&[
            "logsumexp",
            &data("rows.txt"),
            "--mask",
            &data("rows_mask.txt"),
            "-t",
            "0.5",
        ]),
        ' ',
    );
    let want: Vec<Vec<f64>> = x
        .iter()
        .zip(&m)
        .map(|(r, k)| vec![boltzmax::logsumexp_masked(r, k, &p).unwrap()])
        .collect();
    assert_rows_eq(&got, &want);
    assert_eq!(got[4][0], f64::NEG_INFINITY); // fully masked
    // An .npy mask (bool) on an .npy input, along an inner axis.
    let x = ArrayD::<f64>::read_npy(std::fs::File::open(data("cube_f64.npy")).unwrap()).unwrap();
    let mk = ArrayD::<bool>::read_npy(std::fs::File::open(data("cube_mask.npy")).unwrap()).unwrap();
    let got = npy_out(
        &[
            "softmax",
            &data("cube_f64.npy"),
            "--mask",
            &data("cube_mask.npy"),
            "--axis",
            "1",
        ],
        "mask_npy",
    );
    let mut want = x.clone();
    for ((mut o, lane), ml) in want
        .lanes_mut(Axis(1))
        .into_iter()
        .zip(x.lanes(Axis(1)))
        .zip(mk.lanes(Axis(1)))
    {
        let y = boltzmax::softmax_masked(&lane.to_vec(), &ml.to_vec(), &Params::default()).unwrap();
        for (d, s) in o.iter_mut().zip(y) {
            *d = s;
        }
    }
    for (g, w) in got.iter().zip(&want) {
        assert!(same(*g, *w), "{g} vs {w}");
    }
}

#[test]
fn weights_and_return_sign_follow_scipy() {
    let x = rows_of::<f64>(&data("rows.txt"));
    let b = rows_of::<f64>(&data("rows_weights.txt"));
    let p = Params::default();
    let got = parse_rows::<f64>(
        &ok(&[
            "logsumexp",
            &data("rows.txt"),
            "--weights",
            &data("rows_weights.txt"),
            "--return-sign",
        ]),
        ' ',
    );
    let want: Vec<Vec<f64>> = x
        .iter()
        .zip(&b)
        .map(|(r, w)| {
            let s = boltzmax::logsumexp_weighted(r, w, &p).unwrap();
            vec![s.log_abs, s.sign]
        })
        .collect();
    assert_rows_eq(&got, &want);
    // Row 2 has weights (-1, 2, 0): -1 + 2 exp(-40) < 0.
    assert_eq!(got[1][1], -1.0);
    assert_eq!(got[0][1], 1.0);
    let out = run_stdin(&["logsumexp", "--return-sign"], b"0 0\n-inf -inf\n");
    let got = parse_rows::<f64>(&String::from_utf8(out.stdout).unwrap(), ' ');
    assert_rows_eq(&got, &[vec![2f64.ln(), 1.0], vec![f64::NEG_INFINITY, 0.0]]);
    // Without --return-sign only ln|sum| is printed.
    let got = parse_rows::<f64>(
        &ok(&[
            "logsumexp",
            &data("rows.txt"),
            "--weights",
            &data("rows_weights.txt"),
        ]),
        ' ',
    );
    assert_rows_eq(&got, &map_rows(&want, |r| vec![r[0]]));
    // Mask and weights together: masked entries get weight 0.
    let m = mask_rows(&data("rows_mask.txt"));
    let got = parse_rows::<f64>(
        &ok(&[
            "logsumexp",
            &data("rows.txt"),
            "--weights",
            &data("rows_weights.txt"),
            "--mask",
            &data("rows_mask.txt"),
            "--return-sign",
        ]),
        ' ',
    );
    let want: Vec<Vec<f64>> = x
        .iter()
        .zip(&b)
        .zip(&m)
        .map(|((r, w), k)| {
            let w: Vec<f64> = w
                .iter()
                .zip(k)
                .map(|(&w, &k)| if k { w } else { 0.0 })
                .collect();
            let s = boltzmax::logsumexp_weighted(r, &w, &p).unwrap();
            vec![s.log_abs, s.sign]
        })
        .collect();
    assert_rows_eq(&got, &want);
}

// ----------------------------------------------------------------- errors

#[test]
fn bad_token_names_file_line_column_and_token() {
    let err = fails(&["softmax", &data("bad_token.txt")]);
    assert_eq!(
        err,
        format!(
            "boltzmax: {}: line 3, column 2: 'abc' is not a number",
            data("bad_token.txt")
        )
    );
    let out = run_stdin(&["logsumexp"], b"1 2\n\n# c\n1 2 3 x7\n");
    let err = check_failure(out, &["logsumexp"]);
    assert_eq!(
        err,
        "boltzmax: <stdin>: line 4, column 4: 'x7' is not a number"
    );
    let err = fails(&["softmax", &data("empty_field.csv")]);
    assert!(err.ends_with("line 2, column 2: empty field"), "{err}");
    let err = fails(&[
        "softmax",
        &data("rows.txt"),
        "--mask",
        &data("bad_mask.txt"),
    ]);
    assert!(
        err.ends_with("line 3, column 2: '2' is not a mask value (1, 0, true or false)"),
        "{err}"
    );
}

#[test]
fn bad_parameters_are_one_line_errors() {
    for (flag, v, msg) in [
        (
            "-t",
            "0",
            "--temperature 0: temperature must be finite and > 0, got 0",
        ),
        (
            "-t",
            "-1",
            "--temperature -1: temperature must be finite and > 0, got -1",
        ),
        (
            "--temperature",
            "nan",
            "--temperature nan: temperature must be finite and > 0, got NaN",
        ),
        (
            "-t",
            "inf",
            "--temperature inf: temperature must be finite and > 0, got inf",
        ),
        ("-t", "abc", "--temperature: 'abc' is not a number"),
        (
            "--beta",
            "inf",
            "--beta inf: inverse temperature beta must be finite, got inf",
        ),
    ] {
        let err = fails(&["softmax", flag, v, &data("rows.txt")]);
        assert_eq!(err, format!("boltzmax: {msg}"));
    }
    let err = fails(&[
        "softmax",
        "--dtype",
        "f32",
        "-t",
        "1e-50",
        &data("rows.txt"),
    ]);
    assert_eq!(
        err,
        "boltzmax: --temperature: 1e-50 is out of the range of f32"
    );
    let err = fails(&["softmax", &data("rows.txt"), "--axis", "2"]);
    assert!(
        err.ends_with("axis 2 is out of range for an array of 2 dimensions"),
        "{err}"
    );
    let err = fails(&["softmax", &data("ints.npy")]);
    assert!(
        err.contains("unsupported .npy dtype") && err.contains("i4"),
        "{err}"
    );
    let err = fails(&["softmax", &data("no_such_file.txt")]);
    assert!(
        err.contains("no_such_file.txt") && err.contains("No such file"),
        "{err}"
    );
    let err = fails(&[
        "softmax",
        &data("rows.txt"),
        "--mask",
        &data("short_mask.txt"),
    ]);
    assert!(
        err.contains("the mask has shape [1, 2], but the input")
            && err.contains("has shape [8, 3]"),
        "{err}"
    );
    let err = fails(&[
        "logsumexp",
        &data("rows.txt"),
        "--weights",
        &data("flat12.txt"),
    ]);
    assert!(err.contains("the weights has shape [2, 6]"), "{err}");
    let out = run_stdin(&["softmax", "-", "--mask", "-"], b"1\n");
    assert!(check_failure(out, &[]).contains("only one input can be - (stdin)"));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    for args in [
        &["softmax", "--bogus"][..],
        &["frobnicate"],
        &["softmax", "-t", "1", "--beta", "1"],
        &["softmax", "--dtype", "f16"],
        &["softmax", "--return-sign"], // logsumexp only
        &[],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    let out = run(&["softmax", "--help"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("--temperature")
    );
    assert!(run(&["--version"]).status.success());
}

#[test]
fn a_failed_run_leaves_no_output_file() {
    let dir = scratch("no_partial");
    let path = dir.join("out.txt");
    let p = path.to_str().unwrap();
    fails(&["softmax", &data("bad_token.txt"), "-o", p]);
    fails(&["softmax", &data("rows.txt"), "-t", "0", "-o", p]);
    fails(&["softmax", &data("ragged.txt"), "-f", "npy", "-o", p]);
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "something was written"
    );
    // An existing file is left as it was.
    std::fs::write(&path, "keep me\n").unwrap();
    fails(&["softmax", &data("bad_token.txt"), "-o", p]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me\n");
    // A directory that does not exist: an error naming the file.
    let missing = dir.join("no/such/dir/out.txt");
    let err = fails(&[
        "softmax",
        &data("rows.txt"),
        "-o",
        missing.to_str().unwrap(),
    ]);
    assert!(err.contains("out.txt"), "{err}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // Enough output that the reader closes its end long before the end.
    let dir = scratch("pipe");
    let input = dir.join("big.txt");
    let mut s = String::new();
    for i in 0..20_000 {
        s.push_str(&format!("{i} 1 2 3 4 5 6 7\n"));
    }
    std::fs::write(&input, s).unwrap();
    let mut child = Command::new(BIN)
        .args(["softmax", input.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn threads_do_not_change_a_bit() {
    // 300_000 values: above nd's 2^18 threshold, so --threads splits the
    // lanes; every count must print the same bytes as the slice functions.
    let dir = scratch("threads");
    let input = dir.join("big.txt");
    let mut s = String::new();
    let mut state = 12345u64;
    for i in 0..300_000u64 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let v = ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 40.0;
        s.push_str(&format!("{v}{}", if i % 10 == 9 { '\n' } else { ' ' }));
    }
    std::fs::write(&input, &s).unwrap();
    let p = input.to_str().unwrap();
    for cmd in ["softmax", "logsumexp"] {
        let one = ok(&[
            cmd,
            p,
            "--shape",
            "1000,300",
            "--axis",
            "0",
            "--threads",
            "1",
        ]);
        for t in ["2", "0"] {
            let many = ok(&[cmd, p, "--shape", "1000,300", "--axis", "0", "--threads", t]);
            assert!(one == many, "{cmd} --threads {t} differs from --threads 1");
        }
        if cmd == "logsumexp" {
            let got = parse_rows::<f64>(&one, ' ');
            let x = rows_of::<f64>(p).concat();
            let col7: Vec<f64> = (0..1000).map(|i| x[i * 300 + 7]).collect();
            assert!(same(got[0][7], boltzmax::logsumexp(&col7)));
        }
    }
}

#[test]
fn output_dash_is_stdout_and_json_nests_every_axis() {
    let a = ok(&["softmax", &data("cube_f64.npy"), "-o", "-", "-f", "json"]);
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    let d0 = v.as_array().unwrap();
    assert_eq!(d0.len(), 2);
    assert_eq!(d0[0].as_array().unwrap().len(), 3);
    assert_eq!(d0[0][0].as_array().unwrap().len(), 4);
    // The -inf row (0, 1, :) is undefined: NaN, written as the string "nan".
    assert_eq!(d0[0][1][0], serde_json::Value::String("nan".into()));
    let x = ArrayD::<f64>::read_npy(std::fs::File::open(data("cube_f64.npy")).unwrap()).unwrap();
    let want = along_axis(&x, 2, boltzmax::softmax);
    assert!(same(json_value_to_f64(&d0[1][2][3]), want[[1, 2, 3]]));
}

#[test]
fn binary_garbage_and_long_tokens_are_one_line_errors() {
    let out = run_stdin(&["softmax"], b"1 2\n3 \xff\xfe\n");
    let err = check_failure(out, &[]);
    assert_eq!(
        err,
        "boltzmax: <stdin>: line 2: not UTF-8 text (and not a .npy file)"
    );
    // A long bad token is cut in the message.
    let long = format!("1 {}\n", "z".repeat(500));
    let err = check_failure(run_stdin(&["softmax"], long.as_bytes()), &[]);
    assert!(
        err.len() < 120 && err.ends_with("...' is not a number"),
        "{err}"
    );
    // A truncated .npy file.
    let npy = std::fs::read(data("cube_f64.npy")).unwrap();
    let err = check_failure(run_stdin(&["softmax"], &npy[..npy.len() - 8]), &[]);
    assert!(err.starts_with("boltzmax: <stdin>: "), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_stdout_is_an_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // no /dev/full in this sandbox: nothing to check
    };
    let out = Command::new(BIN)
        .args(["softmax", &data("rows.txt")])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("boltzmax: <stdout>: No space left"),
        "{err}"
    );
}
