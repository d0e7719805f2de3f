//! Shared plotting setup: the font every chart uses, and the choice of
//! backend from the output file's extension.
//!
//! PNG charts need a font to draw text. Rather than depend on the system's
//! fonts (absent on many servers and CI machines), the binary carries
//! DejaVu Sans (see `assets/DejaVuSans-LICENSE.txt`) and registers it as
//! the `sans-serif` family.

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, bail};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the bundled font as `sans-serif` (once per process). Call
/// before drawing any text.
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [
            plotters::style::FontStyle::Normal,
            plotters::style::FontStyle::Bold,
            plotters::style::FontStyle::Italic,
            plotters::style::FontStyle::Oblique,
        ] {
            // The font bytes are known-good at compile time; a failure here
            // would be a broken build, which the plot tests catch.
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

/// The image formats a `--plot FILE` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics.
    Png,
}

/// Picks the format from the file's extension (`.svg` or `.png`).
pub fn image_format(path: &Path) -> Result<ImageFormat> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("svg") => Ok(ImageFormat::Svg),
        Some("png") => Ok(ImageFormat::Png),
        _ => bail!("{}: plot file must end in .svg or .png", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    #[test]
    fn png_with_text_renders() {
        register_fonts();
        let mut buf = vec![0u8; 200 * 100 * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (200, 100)).into_drawing_area();
            root.fill(&WHITE).unwrap();
            root.draw(&Text::new("kT = 0.593", (10, 40), ("sans-serif", 20)))
                .unwrap();
            root.present().unwrap();
        }
        // Some pixels must have been drawn dark by the text.
        assert!(buf.iter().any(|&b| b < 128));
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(image_format(Path::new("a.SVG")).unwrap(), ImageFormat::Svg);
        assert_eq!(image_format(Path::new("a.png")).unwrap(), ImageFormat::Png);
        assert!(image_format(Path::new("a.jpg")).is_err());
    }
}
