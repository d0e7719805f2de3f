//! `boltzmax ensemble`: Boltzmann populations and thermodynamics of a
//! conformer ensemble (or any list of levels), at one temperature or over
//! a sweep.
//!
//! Input (detected from the content, or `--input-format`):
//! - a multi-structure XYZ file as CREST and xtb write it: an atom count
//!   line, a comment line whose first number is the energy (hartree), then
//!   that many atom lines, repeated;
//! - a CSV with a header: an energy column (`energy`, `E`, `G`, `gibbs`,
//!   `free_energy`), optional `name`, `degeneracy` (`g_deg`, `deg`) and
//!   `symmetry` (`sigma`) columns, every other column a numeric property
//!   whose Boltzmann-weighted mean and standard deviation are reported;
//! - a plain list: one energy per line.
//!
//! `#` starts a comment in CSV and list input. Every problem is reported
//! as `FILE: line N: ...` with exit status 2, before anything is written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use boltzmax::nd::Par;
use boltzmax::thermo::{Constants, EnergyUnit, Ensemble, Reference, Sweep, Thermo, Units};
use serde_json::{Value, json};

use crate::input::Source;
use crate::output::{Format, OutputArgs, push_number};
use crate::plot::{ImageFormat, image_format, register_fonts};

/// How the input file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Guess: XYZ if it starts with an atom count followed by atoms, CSV if
    /// the first line is a header, else a plain list.
    Auto,
    /// CREST/xtb multi-structure XYZ.
    Xyz,
    /// CSV with a header line.
    Csv,
    /// One energy per line.
    List,
}

/// Options of `boltzmax ensemble`.
#[derive(Debug, Clone, clap::Args)]
pub struct EnsembleArgs {
    /// Input: XYZ ensemble, CSV, or a list of energies; - for stdin.
    #[arg(default_value = "-", value_name = "FILE")]
    pub input: Source,

    /// How to read the input.
    #[arg(long, value_enum, default_value = "auto")]
    pub input_format: InputFormat,

    /// Energy unit of the input: Eh, kcal/mol, kJ/mol, J/mol, J, eV, meV,
    /// cm^-1, K, kT [default: Eh for XYZ, kcal/mol otherwise].
    #[arg(long, short = 'u')]
    pub unit: Option<String>,

    /// Temperature in K (also where --cutoff is applied in a sweep).
    #[arg(
        long,
        short = 't',
        default_value_t = 298.15,
        allow_negative_numbers = true
    )]
    pub temperature: f64,

    /// Linear temperature sweep START:STOP:STEP (K).
    #[arg(long, value_name = "START:STOP:STEP", conflicts_with = "sweep_log")]
    pub sweep: Option<String>,

    /// Log-spaced temperature sweep START:STOP:N (K, N points).
    #[arg(long, value_name = "START:STOP:N")]
    pub sweep_log: Option<String>,

    /// Zero of the relative energies, ln Z, U and F: min (the default),
    /// first, absolute, level:N (1-based) or an energy in the input unit.
    #[arg(long, default_value = "min", allow_hyphen_values = true)]
    pub relative: String,

    /// Physical constants: codata2018 (exact SI 2019 + CODATA 2018
    /// hartree) or goodvibes (its R and hartree, to reproduce its numbers).
    #[arg(long, default_value = "codata2018")]
    pub constants: String,

    /// Keep the most populated levels up to this cumulative population
    /// (a fraction in (0, 1], or a percentage with %), at --temperature;
    /// the rest are dropped and the populations renormalised.
    #[arg(long)]
    pub cutoff: Option<String>,

    /// Keep only levels at most this far above the lowest (input unit).
    #[arg(long)]
    pub window: Option<f64>,

    /// Draw a chart: populations and C_v against T for a sweep, a bar
    /// chart of populations for one temperature (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// The parsed input: energies with the lines they came from.
#[derive(Debug, Clone, Default)]
struct Levels {
    names: Vec<String>,
    lines: Vec<usize>,
    energies: Vec<f64>,
    degeneracies: Option<Vec<f64>>,
    symmetry: Option<Vec<f64>>,
    properties: Vec<(String, Vec<f64>)>,
}

fn parse_finite(src: &str, line: usize, what: &str, tok: &str) -> Result<f64> {
    let v: f64 = tok
        .trim()
        .parse()
        .map_err(|_| anyhow!("{src}: line {line}: {what} {tok:?} is not a number"))?;
    if !v.is_finite() {
        bail!("{src}: line {line}: {what} {tok:?} is not finite");
    }
    Ok(v)
}

fn parse_positive(src: &str, line: usize, what: &str, tok: &str) -> Result<f64> {
    let v = parse_finite(src, line, what, tok)?;
    if v <= 0.0 {
        bail!("{src}: line {line}: {what} {tok:?} must be > 0");
    }
    Ok(v)
}

fn strip_comment(l: &str) -> &str {
    l.split('#').next().unwrap_or("")
}

fn detect(text: &str) -> InputFormat {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !strip_comment(l).trim().is_empty())
        .take(3)
        .collect();
    let first = lines.first().map(|l| l.trim()).unwrap_or("");
    if first.parse::<usize>().is_ok() {
        // XYZ: the line after the comment line starts with an element.
        let raw: Vec<&str> = text.lines().collect();
        if let Some(i) = raw.iter().position(|l| !l.trim().is_empty())
            && let Some(atom) = raw.get(i + 2)
            && atom
                .split_whitespace()
                .next()
                .is_some_and(|t| t.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        {
            return InputFormat::Xyz;
        }
    }
    // A header has at least one field that is not a number ("nan" and
    // "inf" are numbers here, as everywhere in boltzmax).
    let header_like = strip_comment(first)
        .split([',', ';', '\t', ' '])
        .filter(|t| !t.trim().is_empty())
        .any(|t| t.trim().parse::<f64>().is_err());
    if header_like {
        InputFormat::Csv
    } else {
        InputFormat::List
    }
}

fn parse_list(src: &str, text: &str) -> Result<Levels> {
    let mut lv = Levels::default();
    for (i, l) in text.lines().enumerate() {
        let t = strip_comment(l).trim();
        if t.is_empty() {
            continue;
        }
        let toks: Vec<&str> = t
            .split([',', ' ', '\t'])
            .filter(|s| !s.is_empty())
            .collect();
        if toks.len() != 1 {
            bail!(
                "{src}: line {}: expected one energy per line, got {} values (use a CSV with a header for more columns)",
                i + 1,
                toks.len()
            );
        }
        lv.energies
            .push(parse_finite(src, i + 1, "energy", toks[0])?);
        lv.lines.push(i + 1);
        lv.names.push(format!("{}", lv.energies.len()));
    }
    Ok(lv)
}

fn parse_csv(src: &str, text: &str) -> Result<Levels> {
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| anyhow!("{src}: line 1: {e}"))?
        .clone();
    let mut energy = None;
    let mut name = None;
    let mut deg = None;
    let mut sym = None;
    let mut props = Vec::new();
    for (j, h) in headers.iter().enumerate() {
        let key = h.to_ascii_lowercase();
        match key.as_str() {
            "energy" | "e" | "g" | "gibbs" | "free_energy" | "energy_rel" | "e_rel" | "erel"
                if energy.is_none() =>
            {
                energy = Some(j)
            }
            "name" | "id" | "conformer" | "label" if name.is_none() => name = Some(j),
            "degeneracy" | "deg" | "g_deg" | "multiplicity" if deg.is_none() => deg = Some(j),
            "symmetry" | "sigma" | "symmetry_number" if sym.is_none() => sym = Some(j),
            _ => props.push((j, h.to_string())),
        }
    }
    let energy = energy.ok_or_else(|| {
        anyhow!(
            "{src}: line 1: no energy column in the header {:?} (name it energy, E, G, gibbs or free_energy)",
            headers.iter().collect::<Vec<_>>()
        )
    })?;
    let mut lv = Levels {
        degeneracies: deg.map(|_| Vec::new()),
        symmetry: sym.map(|_| Vec::new()),
        properties: props.iter().map(|(_, h)| (h.clone(), Vec::new())).collect(),
        ..Levels::default()
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            anyhow!("{src}: line {line}: {}", e.kind_message())
        })?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        lv.energies
            .push(parse_finite(src, line, "energy", &rec[energy])?);
        lv.lines.push(line);
        lv.names.push(match name {
            Some(j) => rec[j].to_string(),
            None => format!("{}", lv.energies.len()),
        });
        if let (Some(j), Some(v)) = (deg, lv.degeneracies.as_mut()) {
            v.push(parse_positive(src, line, "degeneracy", &rec[j])?);
        }
        if let (Some(j), Some(v)) = (sym, lv.symmetry.as_mut()) {
            v.push(parse_positive(src, line, "symmetry number", &rec[j])?);
        }
        for ((j, h), (_, vals)) in props.iter().zip(lv.properties.iter_mut()) {
            vals.push(parse_finite(src, line, &format!("{h:?} value"), &rec[*j])?);
        }
    }
    Ok(lv)
}

/// Plain message of a csv error without its position (we add our own).
trait KindMessage {
    fn kind_message(&self) -> String;
}

impl KindMessage for csv::Error {
    fn kind_message(&self) -> String {
        match self.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("expected {expected_len} fields like the header, got {len}"),
            _ => self.to_string(),
        }
    }
}

fn parse_xyz(src: &str, text: &str) -> Result<Levels> {
    let lines: Vec<&str> = text.lines().collect();
    let mut lv = Levels::default();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let start = i + 1;
        let count: usize = lines[i].trim().parse().map_err(|_| {
            if lv.energies.is_empty() {
                anyhow!(
                    "{src}: line {start}: expected an atom count, got {:?}",
                    lines[i].trim()
                )
            } else {
                anyhow!(
                    "{src}: line {start}: expected the atom count of structure {}, got {:?} (does the block before declare too few atoms?)",
                    lv.energies.len() + 1,
                    lines[i].trim()
                )
            }
        })?;
        if count == 0 {
            bail!("{src}: line {start}: a structure needs at least one atom, got 0");
        }
        let comment = lines.get(i + 1).ok_or_else(|| {
            anyhow!("{src}: line {start}: structure ends before its comment line")
        })?;
        let energy = comment
            .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == ':')
            .find_map(|t| t.parse::<f64>().ok())
            .ok_or_else(|| {
                anyhow!(
                    "{src}: line {}: no energy on the comment line {:?}",
                    i + 2,
                    comment.trim()
                )
            })?;
        if !energy.is_finite() {
            bail!("{src}: line {}: energy {energy} is not finite", i + 2);
        }
        for k in 0..count {
            let n = i + 2 + k;
            let Some(atom) = lines.get(n) else {
                bail!(
                    "{src}: line {start}: structure {} declares {count} atoms but the file ends after {k}",
                    lv.energies.len() + 1
                );
            };
            let toks: Vec<&str> = atom.split_whitespace().collect();
            let ok = toks.len() >= 4
                && toks[0]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && toks[1..4].iter().all(|t| t.parse::<f64>().is_ok());
            if !ok && toks.len() == 1 && toks[0].parse::<usize>().is_ok() {
                bail!(
                    "{src}: line {}: structure {} (line {start}) declares {count} atoms but has {k}: this line looks like the next atom count",
                    n + 1,
                    lv.energies.len() + 1
                );
            }
            if !ok {
                bail!(
                    "{src}: line {}: expected atom {} of {count} (symbol x y z) of the structure at line {start}, got {:?}",
                    n + 1,
                    k + 1,
                    atom.trim()
                );
            }
        }
        lv.energies.push(energy);
        lv.lines.push(i + 2);
        lv.names.push(format!("{}", lv.energies.len()));
        i += 2 + count;
    }
    Ok(lv)
}

fn parse_reference(s: &str, lv: &Levels) -> Result<Reference> {
    let t = s.trim().to_ascii_lowercase();
    Ok(match t.as_str() {
        "min" | "minimum" | "lowest" => Reference::Minimum,
        "first" => Reference::Level(0),
        "absolute" | "none" | "zero" => Reference::Absolute,
        _ => {
            if let Some(n) = t.strip_prefix("level:") {
                let n: usize = n
                    .parse()
                    .map_err(|_| anyhow!("--relative {s:?}: level:N needs a number N >= 1"))?;
                if n == 0 || n > lv.energies.len() {
                    bail!(
                        "--relative {s:?}: there are {} levels (counted from 1)",
                        lv.energies.len()
                    );
                }
                Reference::Level(n - 1)
            } else {
                let v: f64 = t.parse().map_err(|_| {
                    anyhow!("--relative {s:?}: expected min, first, absolute, level:N or an energy")
                })?;
                if !v.is_finite() {
                    bail!("--relative {s:?}: the reference energy must be finite");
                }
                Reference::Value(v)
            }
        }
    })
}

fn parse_sweep(lin: Option<&str>, log: Option<&str>) -> Result<Option<Sweep>> {
    let parts = |s: &str, flag: &str| -> Result<(f64, f64, f64)> {
        let p: Vec<&str> = s.split(':').collect();
        if p.len() != 3 {
            bail!(
                "{flag} {s:?}: expected START:STOP:{}",
                if flag == "--sweep" { "STEP" } else { "N" }
            );
        }
        let num = |t: &str| -> Result<f64> {
            t.trim()
                .parse::<f64>()
                .map_err(|_| anyhow!("{flag} {s:?}: {t:?} is not a number"))
        };
        Ok((num(p[0])?, num(p[1])?, num(p[2])?))
    };
    if let Some(s) = lin {
        let (a, b, c) = parts(s, "--sweep")?;
        return Ok(Some(
            Sweep::linear(a, b, c).with_context(|| format!("--sweep {s:?}"))?,
        ));
    }
    if let Some(s) = log {
        let (a, b, n) = parts(s, "--sweep-log")?;
        if n.fract() != 0.0 || n < 1.0 {
            bail!("--sweep-log {s:?}: N must be a whole number >= 1");
        }
        return Ok(Some(
            Sweep::log(a, b, n as usize).with_context(|| format!("--sweep-log {s:?}"))?,
        ));
    }
    Ok(None)
}

fn parse_cutoff(s: &str) -> Result<f64> {
    let t = s.trim();
    let v = if let Some(p) = t.strip_suffix('%') {
        p.trim().parse::<f64>().map(|v| v / 100.0)
    } else {
        t.parse::<f64>()
    }
    .map_err(|_| {
        anyhow!("--cutoff {s:?}: expected a fraction like 0.99 or a percentage like 99%")
    })?;
    if !(v > 0.0 && v <= 1.0) {
        bail!("--cutoff {s:?}: the cumulative population must be in (0, 1] (or (0, 100]%)");
    }
    Ok(v)
}

fn build(lv: &Levels, units: Units, reference: Reference, src: &str) -> Result<Ensemble> {
    // The parsers validated each value, so a library error here names an
    // index we translate back to its line.
    let at_line = |e: boltzmax::Error| match &e {
        boltzmax::Error::InvalidLevel { index, .. } => {
            anyhow!(
                "{src}: line {}: {e}",
                lv.lines.get(*index).copied().unwrap_or(0)
            )
        }
        _ => anyhow!("{src}: {e}"),
    };
    if lv.energies.is_empty() {
        bail!("{src}: no energies found");
    }
    let mut ens = Ensemble::new(lv.energies.clone(), units).map_err(at_line)?;
    if let Some(g) = &lv.degeneracies {
        ens = ens.with_degeneracies(g.clone()).map_err(at_line)?;
    }
    if let Some(s) = &lv.symmetry {
        ens = ens.with_symmetry_numbers(s.clone()).map_err(at_line)?;
    }
    for (name, vals) in &lv.properties {
        ens = ens
            .with_property(name.clone(), vals.clone())
            .map_err(at_line)?;
    }
    ens.with_reference(reference)
        .map_err(|e| anyhow!("--relative: {e}"))
}

/// Runs `boltzmax ensemble`.
pub fn run(args: EnsembleArgs) -> Result<()> {
    let src = args.input.to_string();
    let format = args.output.format();
    if format == Format::Npy {
        bail!("--format npy is not available for ensemble (use text, csv or json)");
    }
    if let Some(p) = &args.plot {
        image_format(p)?;
    }
    boltzmax::Temperature::new(args.temperature)
        .map_err(|e| anyhow!("--temperature {}: {e}", args.temperature))?;
    let constants: Constants = args
        .constants
        .parse()
        .map_err(|e| anyhow!("--constants: {e}"))?;
    let sweep = parse_sweep(args.sweep.as_deref(), args.sweep_log.as_deref())?;
    let cutoff = args.cutoff.as_deref().map(parse_cutoff).transpose()?;

    let bytes = args.input.read_bytes()?;
    let text = String::from_utf8(bytes).map_err(|e| anyhow!("{src}: not UTF-8 text: {e}"))?;
    let kind = match args.input_format {
        InputFormat::Auto => detect(&text),
        k => k,
    };
    let mut lv = match kind {
        InputFormat::Xyz => parse_xyz(&src, &text)?,
        InputFormat::Csv => parse_csv(&src, &text)?,
        _ => parse_list(&src, &text)?,
    };
    if lv.energies.is_empty() {
        bail!("{src}: no energies found");
    }
    let unit: EnergyUnit = match &args.unit {
        Some(u) => u.parse().map_err(|e| anyhow!("--unit: {e}"))?,
        None if kind == InputFormat::Xyz => EnergyUnit::Hartree,
        None => EnergyUnit::KilocaloriePerMole,
    };
    let units = Units::new(unit, constants)
        .with_kt_reference(args.temperature)
        .map_err(|e| anyhow!("--temperature: {e}"))?;
    let reference = parse_reference(&args.relative, &lv)?;
    let mut ens = build(&lv, units, reference, &src)?;
    let total = ens.len();

    // Energy window first (a property of the energies alone), then the
    // cumulative cut-off at --temperature.
    if let Some(w) = args.window {
        let keep = ens
            .window_indices(w)
            .map_err(|e| anyhow!("--window: {e}"))?;
        lv = select_levels(&lv, &keep);
        ens = ens.select(&keep).map_err(|e| anyhow!("--window: {e}"))?;
    }
    if let Some(c) = cutoff {
        let at = ens.at(args.temperature)?;
        let mut keep = at.cumulative_cutoff(c)?;
        keep.sort_unstable();
        lv = select_levels(&lv, &keep);
        ens = ens.select(&keep).map_err(|e| anyhow!("--cutoff: {e}"))?;
    }
    let ctx = View {
        src: &src,
        lv: &lv,
        ens: &ens,
        dropped: total - ens.len(),
    };

    let (rendered, plot): (String, Option<PlotData>) = match &sweep {
        None => {
            let th = ens.at(args.temperature)?;
            let out = match format {
                Format::Json => single_json(&ctx, &th),
                Format::Csv => single_csv(&ctx, &th),
                _ => single_text(&ctx, &th),
            };
            (out, Some(PlotData::Bars(Box::new(th))))
        }
        Some(sw) => {
            let pts = ens.sweep(sw, Par::Threads(0))?;
            let out = match format {
                Format::Json => sweep_json(&ctx, &pts),
                Format::Csv => sweep_csv(&ctx, &pts),
                _ => sweep_text(&ctx, &pts),
            };
            (out, Some(PlotData::Sweep(pts)))
        }
    };
    if let (Some(path), Some(data)) = (&args.plot, plot) {
        draw(path, &ctx, &data)?;
    }
    args.output.write(rendered.as_bytes())
}

fn select_levels(lv: &Levels, keep: &[usize]) -> Levels {
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
    Levels {
        names: keep.iter().map(|&i| lv.names[i].clone()).collect(),
        lines: keep.iter().map(|&i| lv.lines[i]).collect(),
        energies: pick(&lv.energies),
        degeneracies: lv.degeneracies.as_deref().map(pick),
        symmetry: lv.symmetry.as_deref().map(pick),
        properties: lv
            .properties
            .iter()
            .map(|(n, v)| (n.clone(), pick(v)))
            .collect(),
    }
}

struct View<'a> {
    src: &'a str,
    lv: &'a Levels,
    ens: &'a Ensemble,
    dropped: usize,
}

fn num(v: f64) -> String {
    let mut s = String::new();
    push_number(&mut s, v);
    s
}

/// Levels in order of increasing energy (stable), as chemists list them.
fn energy_order(ens: &Ensemble) -> Vec<usize> {
    let e = ens.energies();
    let mut o: Vec<usize> = (0..e.len()).collect();
    o.sort_by(|&a, &b| e[a].total_cmp(&e[b]).then(a.cmp(&b)));
    o
}

fn reference_name(r: Reference, lv: &Levels) -> String {
    match r {
        Reference::Minimum => "the lowest level".into(),
        Reference::Level(i) => format!("level {}", lv.names[i]),
        Reference::Value(v) => format!("E = {}", num(v)),
        Reference::Absolute => "absolute (E = 0)".into(),
    }
}

fn header_line(c: &View) -> String {
    let u = c.ens.units();
    let mut s = format!(
        "# {}: {} levels, unit {}, constants {}, energies relative to {}",
        c.src,
        c.ens.len(),
        u.energy,
        u.constants.name,
        reference_name(c.ens.reference(), c.lv)
    );
    if c.dropped > 0 {
        let _ = write!(s, " ({} dropped by --window/--cutoff)", c.dropped);
    }
    s.push('\n');
    s
}

/// The summary quantities: (key, description, value in the user's unit or
/// in units of k, the user's unit label, SI value, SI unit).
fn quantities(th: &Thermo) -> Vec<(&'static str, &'static str, f64, String, f64, String)> {
    let u = th.units;
    let unit = u.energy.symbol().to_string();
    let si = u.si_symbol().to_string();
    let k = if u.energy.basis() == boltzmax::thermo::Basis::Mole {
        "R"
    } else {
        "k"
    };
    let per_k = format!("{si}/K");
    let g = th.ensemble_free_energies();
    let e = |key, desc, v: f64| (key, desc, v, unit.clone(), th.energy_si(v), si.clone());
    let s = |key, desc, v: f64| (key, desc, v, k.to_string(), th.entropy_si(v), per_k.clone());
    vec![
        e("kT", "kT", th.kt),
        (
            "ln_Z",
            "ln Z",
            th.ln_z,
            String::new(),
            th.ln_z,
            String::new(),
        ),
        e("U", "U - E_ref = <E> - E_ref", th.mean_energy),
        e("E_std", "standard deviation of E", th.energy_std),
        e("F", "F - E_ref = -kT ln Z", th.free_energy),
        s("S", "S = k (ln Z + U/kT)", th.entropy),
        s("Cv", "C_v = Var(E)/(k T^2)", th.heat_capacity),
        s(
            "S_conf",
            "S_conf = -k sum p ln(p/g)",
            th.conformational_entropy,
        ),
        e(
            "G_goodvibes",
            "-kT ln sum g e^(-E/kT)  (GoodVibes gconf G)",
            g.partition,
        ),
        e(
            "G_censo",
            "sum p E  (CENSO Boltzmann-averaged G)",
            g.boltzmann_average,
        ),
        e(
            "G_crest",
            "-T S_conf  (CREST 'ensemble free energy')",
            g.minus_t_s_conf,
        ),
    ]
}

fn single_text(c: &View, th: &Thermo) -> String {
    let mut s = header_line(c);
    let u = th.units.energy.symbol();
    let rel = c.ens.relative_energies();
    let name_w = c.lv.names.iter().map(|n| n.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        s,
        "{:>5}  {:<name_w$}  {:>16}  {:>8}  {:>13}  {:>13}",
        "#",
        "name",
        format!("E_rel/{u}"),
        "g",
        "population %",
        "cumulative %"
    );
    // Hartree differences of conformers are ~1e-3: show more places.
    let dp = if th.units.energy == EnergyUnit::Hartree {
        8
    } else {
        6
    };
    let mut cum = 0.0;
    for (rank, &i) in energy_order(c.ens).iter().enumerate() {
        cum += th.populations[i];
        let _ = writeln!(
            s,
            "{:>5}  {:<name_w$}  {:>16.dp$}  {:>8}  {:>13.6}  {:>13.6}",
            rank + 1,
            c.lv.names[i],
            rel[i],
            num(c.ens.degeneracies()[i]),
            100.0 * th.populations[i],
            100.0 * cum
        );
    }
    let _ = writeln!(s, "\nT = {} K", num(th.temperature));
    for (_, desc, v, unit, si, siu) in quantities(th) {
        if siu.is_empty() {
            let _ = writeln!(s, "  {desc:<46} {v:>16.10}");
        } else {
            let _ = writeln!(s, "  {desc:<46} {v:>16.10} {unit:<8} {si:>16.9e} {siu}");
        }
    }
    match th.z {
        Some(z) => {
            let _ = writeln!(s, "  {:<46} {z:>16.10e}", "Z");
        }
        None => {
            let _ = writeln!(
                s,
                "  {:<46} {:>16}",
                "Z", "(not representable in f64; see ln Z)"
            );
        }
    }
    for p in &th.properties {
        let _ = writeln!(
            s,
            "  <{}> = {} +- {} (Boltzmann-weighted mean +- std)",
            p.name,
            num(p.mean),
            num(p.std)
        );
    }
    s
}

fn summary_json(th: &Thermo) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("temperature_K".into(), json!(th.temperature));
    for (key, _, v, unit, si, siu) in quantities(th) {
        m.insert(key.into(), json!(v));
        if !siu.is_empty() {
            m.insert(format!("{key}_unit"), json!(unit));
            m.insert(format!("{key}_SI"), json!(si));
        }
    }
    m.insert("Z".into(), json!(th.z));
    m.insert("SI_energy_unit".into(), json!(th.units.si_symbol()));
    m.insert(
        "properties".into(),
        Value::Array(
            th.properties
                .iter()
                .map(|p| json!({"name": p.name, "mean": p.mean, "std": p.std}))
                .collect(),
        ),
    );
    Value::Object(m)
}

fn meta_json(c: &View) -> Value {
    let u = c.ens.units();
    json!({
        "input": c.src,
        "unit": u.energy.symbol(),
        "constants": u.constants.name,
        "reference": reference_name(c.ens.reference(), c.lv),
        "reference_energy": c.ens.reference_energy(),
        "dropped": c.dropped,
    })
}

fn single_json(c: &View, th: &Thermo) -> String {
    let rel = c.ens.relative_energies();
    let mut cum = 0.0;
    let levels: Vec<Value> = energy_order(c.ens)
        .into_iter()
        .map(|i| {
            cum += th.populations[i];
            json!({
                "index": i + 1,
                "name": c.lv.names[i],
                "energy": c.ens.energies()[i],
                "relative_energy": rel[i],
                "degeneracy": c.ens.degeneracies()[i],
                "symmetry_number": c.ens.symmetry_numbers()[i],
                "population": th.populations[i],
                "cumulative": cum,
            })
        })
        .collect();
    let mut v = meta_json(c);
    v["levels"] = Value::Array(levels);
    v["summary"] = summary_json(th);
    let mut s = serde_json::to_string_pretty(&v).expect("JSON of plain values");
    s.push('\n');
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn single_csv(c: &View, th: &Thermo) -> String {
    let rel = c.ens.relative_energies();
    let mut s = String::from(
        "index,name,energy,relative_energy,degeneracy,symmetry_number,population,cumulative\n",
    );
    let mut cum = 0.0;
    for i in energy_order(c.ens) {
        cum += th.populations[i];
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{}",
            i + 1,
            csv_field(&c.lv.names[i]),
            num(c.ens.energies()[i]),
            num(rel[i]),
            num(c.ens.degeneracies()[i]),
            num(c.ens.symmetry_numbers()[i]),
            num(th.populations[i]),
            num(cum)
        );
    }
    // The summary as a second table after a blank line.
    s.push_str("\nquantity,value,unit,si_value,si_unit\n");
    let _ = writeln!(s, "T,{},K,{},K", num(th.temperature), num(th.temperature));
    for (key, _, v, unit, si, siu) in quantities(th) {
        let _ = writeln!(
            s,
            "{key},{},{},{},{}",
            num(v),
            csv_field(&unit),
            num(si),
            csv_field(&siu)
        );
    }
    for p in &th.properties {
        let _ = writeln!(
            s,
            "{},{},,,",
            csv_field(&format!("mean_{}", p.name)),
            num(p.mean)
        );
        let _ = writeln!(
            s,
            "{},{},,,",
            csv_field(&format!("std_{}", p.name)),
            num(p.std)
        );
    }
    s
}

fn sweep_text(c: &View, pts: &[Thermo]) -> String {
    let mut s = header_line(c);
    let u = c.ens.units().energy.symbol();
    let k = if c.ens.units().energy.basis() == boltzmax::thermo::Basis::Mole {
        "R"
    } else {
        "k"
    };
    let _ = writeln!(
        s,
        "# energies in {u} from the reference; S, C_v, S_conf in units of {k}; --format csv or json adds every population"
    );
    let _ = writeln!(
        s,
        "{:>12} {:>14} {:>14} {:>14} {:>14} {:>12} {:>12} {:>12} {:>10}",
        "T/K", "ln Z", "U", "F", "-T S_conf", "S", "C_v", "S_conf", "p_min %"
    );
    let imin = c.ens.min_index();
    for t in pts {
        let g = t.ensemble_free_energies();
        let _ = writeln!(
            s,
            "{:>12} {:>14.8} {:>14.8} {:>14.8} {:>14.8} {:>12.8} {:>12.8} {:>12.8} {:>10.5}",
            num(t.temperature),
            t.ln_z,
            t.mean_energy,
            t.free_energy,
            g.minus_t_s_conf,
            t.entropy,
            t.heat_capacity,
            t.conformational_entropy,
            100.0 * t.populations[imin]
        );
    }
    s
}

fn sweep_csv(c: &View, pts: &[Thermo]) -> String {
    let mut s = String::from("T");
    let keys: Vec<&str> = pts
        .first()
        .map(|t| quantities(t).iter().map(|q| q.0).collect())
        .unwrap_or_default();
    for k in &keys {
        let _ = write!(s, ",{k}");
    }
    for n in &c.lv.names {
        let _ = write!(s, ",{}", csv_field(&format!("p_{n}")));
    }
    s.push('\n');
    for t in pts {
        s.push_str(&num(t.temperature));
        for q in quantities(t) {
            let _ = write!(s, ",{}", num(q.2));
        }
        for p in &t.populations {
            let _ = write!(s, ",{}", num(*p));
        }
        s.push('\n');
    }
    s
}

fn sweep_json(c: &View, pts: &[Thermo]) -> String {
    let mut v = meta_json(c);
    v["names"] = json!(c.lv.names);
    v["points"] = Value::Array(
        pts.iter()
            .map(|t| {
                let mut o = summary_json(t);
                o["populations"] = json!(t.populations);
                o
            })
            .collect(),
    );
    let mut s = serde_json::to_string_pretty(&v).expect("JSON of plain values");
    s.push('\n');
    s
}

enum PlotData {
    Bars(Box<Thermo>),
    Sweep(Vec<Thermo>),
}

const COLORS: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// Draws the chart to a temporary file in the same directory and renames it
/// over `path`, so a failure leaves no partial image.
fn draw(path: &Path, c: &View, data: &PlotData) -> Result<()> {
    register_fonts();
    let format = image_format(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ext = if format == ImageFormat::Png {
        "png"
    } else {
        "svg"
    };
    let tmp = dir.join(format!(".{name}.tmp{}.{ext}", std::process::id()));
    let size = match data {
        PlotData::Bars(_) => (760u32, 420u32),
        PlotData::Sweep(_) => (760u32, 760u32),
    };
    let result = match format {
        ImageFormat::Png => draw_on(plotters::prelude::BitMapBackend::new(&tmp, size), c, data),
        ImageFormat::Svg => draw_on(plotters::prelude::SVGBackend::new(&tmp, size), c, data),
    };
    if let Err(e) = result.and_then(|()| std::fs::rename(&tmp, path).map_err(Into::into)) {
        let _ = std::fs::remove_file(&tmp);
        bail!("{}: cannot draw the plot: {e}", path.display());
    }
    Ok(())
}

fn draw_on<DB: plotters::prelude::DrawingBackend>(
    backend: DB,
    c: &View,
    data: &PlotData,
) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Debug| anyhow!("{e:?}");
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let names = &c.lv.names;
    match data {
        PlotData::Bars(th) => {
            let order = energy_order(c.ens);
            let n = order.len();
            let ymax = th.populations.iter().fold(0.0f64, |a, &b| a.max(b)) * 100.0;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    format!("Boltzmann populations at {} K", num(th.temperature)),
                    ("sans-serif", 20),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d((0..n).into_segmented(), 0.0..(ymax * 1.1).max(1e-9))
                .map_err(|e| err(&e))?;
            let label = |v: &SegmentValue<usize>| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    order.get(*i).map(|&j| names[j].clone()).unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            };
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_desc("level (by energy)")
                .y_desc("population %")
                .x_label_formatter(&label)
                .x_labels(n.min(30))
                .draw()
                .map_err(|e| err(&e))?;
            let (r, g, b) = COLORS[0];
            chart
                .draw_series(order.iter().enumerate().map(|(k, &i)| {
                    let mut bar = Rectangle::new(
                        [
                            (SegmentValue::Exact(k), 0.0),
                            (SegmentValue::Exact(k + 1), 100.0 * th.populations[i]),
                        ],
                        RGBColor(r, g, b).filled(),
                    );
                    bar.set_margin(0, 0, 3, 3);
                    bar
                }))
                .map_err(|e| err(&e))?;
        }
        PlotData::Sweep(pts) => {
            let (top, bottom) = root.split_vertically(440);
            let ts: Vec<f64> = pts.iter().map(|t| t.temperature).collect();
            let (tmin, tmax) = (ts[0], ts[ts.len() - 1].max(ts[0] * (1.0 + 1e-9)));
            // The ten levels with the highest population anywhere in the sweep.
            let mut best: Vec<(f64, usize)> = (0..names.len())
                .map(|i| (pts.iter().map(|t| t.populations[i]).fold(0.0, f64::max), i))
                .collect();
            best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            best.truncate(10);
            let mut chart = ChartBuilder::on(&top)
                .caption("Populations against temperature", ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(35)
                .y_label_area_size(55)
                .build_cartesian_2d(tmin..tmax, 0.0..100.0)
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .x_desc("T / K")
                .y_desc("population %")
                .draw()
                .map_err(|e| err(&e))?;
            for (k, &(_, i)) in best.iter().enumerate() {
                let (r, g, b) = COLORS[k % COLORS.len()];
                let color = RGBColor(r, g, b);
                chart
                    .draw_series(LineSeries::new(
                        pts.iter()
                            .map(|t| (t.temperature, 100.0 * t.populations[i])),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| err(&e))?
                    .label(names[i].clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(|e| err(&e))?;
            let cmax = pts.iter().map(|t| t.heat_capacity).fold(0.0, f64::max);
            let k = if c.ens.units().energy.basis() == boltzmax::thermo::Basis::Mole {
                "R"
            } else {
                "k"
            };
            let mut chart = ChartBuilder::on(&bottom)
                .caption("Heat capacity C_v (from Var E)", ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(35)
                .y_label_area_size(55)
                .build_cartesian_2d(tmin..tmax, 0.0..(cmax * 1.1).max(1e-9))
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .x_desc("T / K")
                .y_desc(format!("C_v / {k}"))
                .draw()
                .map_err(|e| err(&e))?;
            let (r, g, b) = COLORS[3];
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|t| (t.temperature, t.heat_capacity)),
                    RGBColor(r, g, b).stroke_width(2),
                ))
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_three_formats() {
        assert_eq!(
            detect("3\n-1.5 comment\nC 0 0 0\nH 0 0 1\nH 0 1 0\n"),
            InputFormat::Xyz
        );
        assert_eq!(detect("name,energy\na,0\n"), InputFormat::Csv);
        assert_eq!(detect("energy\n0\n1\n"), InputFormat::Csv);
        assert_eq!(detect("0\n1.5\n2\n"), InputFormat::List);
        assert_eq!(detect("# comment\n0.0\n-1e-3\n"), InputFormat::List);
        assert_eq!(detect("nan\n1\n"), InputFormat::List);
    }
}
