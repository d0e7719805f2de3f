//! The options that choose the float type and scale the logits:
//! `--dtype`, `--temperature/-t` and `--beta`, shared by every command that
//! calls a softmax (`#[command(flatten)] scale: ScaleArgs`).

use std::str::FromStr;

use anyhow::{Result, anyhow, bail};
use boltzmax::{Params, Real};

/// The float type the computation runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Dtype {
    /// 32-bit floats: input rounded once to f32, computed and printed in f32.
    F32,
    /// 64-bit floats.
    #[default]
    F64,
}

/// `--dtype`, `--temperature` and `--beta`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScaleArgs {
    /// Divide the logits by this temperature (finite and > 0).
    #[arg(long, short = 't', value_name = "T", allow_hyphen_values = true)]
    pub temperature: Option<String>,

    /// Multiply the logits by this inverse temperature instead (finite; 0
    /// gives uniform, negative favours the smallest entries).
    #[arg(
        long,
        value_name = "BETA",
        allow_hyphen_values = true,
        conflicts_with = "temperature"
    )]
    pub beta: Option<String>,

    /// Float type to compute in.
    #[arg(long, value_enum, default_value_t = Dtype::F64)]
    pub dtype: Dtype,
}

impl ScaleArgs {
    /// The validated parameters in the float type `F`.
    ///
    /// The values are parsed straight into `F` (one rounding). A value that
    /// is nonzero and finite in decimal but rounds to 0 or infinity in `F`
    /// is reported as out of range rather than as "got 0".
    pub fn params<F: Real + FromStr>(&self) -> Result<Params<F>> {
        if let Some(t) = &self.temperature {
            let v = parse_value::<F>("--temperature", t)?;
            return Params::temperature(v).map_err(|e| anyhow!("--temperature {t}: {e}"));
        }
        if let Some(b) = &self.beta {
            let v = parse_value::<F>("--beta", b)?;
            return Params::beta(v).map_err(|e| anyhow!("--beta {b}: {e}"));
        }
        Ok(Params::default())
    }
}

fn parse_value<F: Real + FromStr>(flag: &str, s: &str) -> Result<F> {
    let v: F = s
        .trim()
        .parse()
        .map_err(|_| anyhow!("{flag}: '{s}' is not a number"))?;
    let wide: f64 = s.trim().parse().unwrap_or(f64::NAN);
    if (v == F::ZERO && wide != 0.0 && wide.is_finite()) || (v.is_infinite() && wide.is_finite()) {
        bail!("{flag}: {s} is out of the range of {}", F::NAME);
    }
    Ok(v)
}
