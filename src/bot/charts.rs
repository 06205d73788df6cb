//! Charts as PNG bytes, for `Outgoing::Photo`: the divergence rate by week, and cumulative
//! realized P&L of the trader against the algorithm.
//!
//! Drawn in memory by plotters (`BitMapBackend::with_buffer`, RGB) and encoded with the
//! `png` crate. Text uses the bundled DejaVu Sans (`assets/fonts/`, Bitstream Vera
//! license beside it), registered once with plotters' ab_glyph backend: no system font
//! is looked up, so a chart renders the same on any machine.
//!
//! No data is an error ([`ChartError::NoData`]), not an empty picture: the bot then says
//! so in a sentence, which tells the trader more than blank axes would.

use std::sync::OnceLock;

use chrono::{Duration, NaiveDate};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::domain::Money;

/// Width of every chart, pixels.
pub const WIDTH: u32 = 800;
/// Height of every chart, pixels.
pub const HEIGHT: u32 = 500;

/// The divergence-rate line.
pub const DIVERGENCE_COLOR: RGBColor = RGBColor(214, 39, 40);
/// The trader's cumulative P&L.
pub const ACTUAL_COLOR: RGBColor = RGBColor(31, 119, 180);
/// The algorithm's cumulative P&L.
pub const ALGORITHM_COLOR: RGBColor = RGBColor(255, 127, 14);

/// The family name the bundled font is registered under.
const FONT: &str = "rlhf-sans";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    #[error("there is no data to chart yet")]
    NoData,
    #[error("{0}")]
    BadValue(String),
    #[error("the chart could not be drawn: {0}")]
    Draw(String),
    #[error("the chart could not be encoded as PNG: {0}")]
    Encode(String),
}

/// The weekly divergence rate (0..1 per week label, oldest first) as a line chart.
pub fn divergence_rate_png(points: &[(String, f64)]) -> Result<Vec<u8>, ChartError> {
    if points.is_empty() {
        return Err(ChartError::NoData);
    }
    if let Some((label, rate)) = points
        .iter()
        .find(|(_, r)| !r.is_finite() || !(0.0..=1.0).contains(r))
    {
        return Err(ChartError::BadValue(format!(
            "the divergence rate of {label} is {rate}, not a share from 0 to 1"
        )));
    }
    let labels: Vec<&str> = points.iter().map(|(l, _)| l.as_str()).collect();
    render(|root| {
        let last = (points.len() - 1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption("Divergence rate by week", (FONT, 26))
            .margin(18)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5..last + 0.5, 0.0..1.0)
            .map_err(draw_error)?;
        let x_label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                labels
                    .get(i as usize)
                    .map(|s| (*s).to_owned())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        };
        let y_label = |y: &f64| format!("{:.0}%", y * 100.0);
        chart
            .configure_mesh()
            .x_labels(points.len().clamp(2, 13) + 1)
            .x_label_formatter(&x_label)
            .y_labels(6)
            .y_label_formatter(&y_label)
            .label_style((FONT, 14))
            .light_line_style(WHITE)
            .draw()
            .map_err(draw_error)?;
        let line: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, (_, r))| (i as f64, *r))
            .collect();
        chart
            .draw_series(LineSeries::new(
                line.iter().copied(),
                DIVERGENCE_COLOR.stroke_width(3),
            ))
            .map_err(draw_error)?;
        chart
            .draw_series(
                line.iter()
                    .map(|p| Circle::new(*p, 5, DIVERGENCE_COLOR.filled())),
            )
            .map_err(draw_error)?;
        Ok(())
    })
}

/// Cumulative realized P&L by day (oldest first): the trader's (actual) and the
/// algorithm's, as two lines with a legend.
pub fn cumulative_pnl_png(points: &[(NaiveDate, Money, Money)]) -> Result<Vec<u8>, ChartError> {
    let Some(first) = points.first().map(|p| p.0) else {
        return Err(ChartError::NoData);
    };
    if points.windows(2).any(|w| w[1].0 < w[0].0) {
        return Err(ChartError::BadValue(
            "the P&L points are not in date order".to_owned(),
        ));
    }
    let dollars = |m: Money| m.units() as f64 / 10_000.0;
    let x = |d: NaiveDate| (d - first).num_days() as f64;
    let actual: Vec<(f64, f64)> = points.iter().map(|p| (x(p.0), dollars(p.1))).collect();
    let algorithm: Vec<(f64, f64)> = points.iter().map(|p| (x(p.0), dollars(p.2))).collect();
    let span = x(points[points.len() - 1].0).max(1.0);
    let values = actual.iter().chain(&algorithm).map(|p| p.1);
    let (lo, hi) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((hi - lo) * 0.08).max(1.0);
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Cumulative realized P&L", (FONT, 26))
            .margin(18)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(-span * 0.02..span * 1.02, lo - pad..hi + pad)
            .map_err(draw_error)?;
        let x_label = |v: &f64| {
            if *v < 0.0 {
                return String::new();
            }
            (first + Duration::days(v.round() as i64))
                .format("%b %d")
                .to_string()
        };
        let y_label = |v: &f64| {
            if *v < 0.0 {
                format!("-${:.0}", -v)
            } else {
                format!("${v:.0}")
            }
        };
        chart
            .configure_mesh()
            .x_labels(7)
            .x_label_formatter(&x_label)
            .y_labels(7)
            .y_label_formatter(&y_label)
            .label_style((FONT, 14))
            .light_line_style(WHITE)
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(LineSeries::new(
                algorithm.iter().copied(),
                ALGORITHM_COLOR.stroke_width(3),
            ))
            .map_err(draw_error)?
            .label("Algorithm")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], ALGORITHM_COLOR.stroke_width(3))
            });
        chart
            .draw_series(LineSeries::new(
                actual.iter().copied(),
                ACTUAL_COLOR.stroke_width(3),
            ))
            .map_err(draw_error)?
            .label("You")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], ACTUAL_COLOR.stroke_width(3))
            });
        if points.len() == 1 {
            // One day draws no line; show the day's two values as dots.
            for (series, color) in [(&algorithm, ALGORITHM_COLOR), (&actual, ACTUAL_COLOR)] {
                chart
                    .draw_series(series.iter().map(|p| Circle::new(*p, 5, color.filled())))
                    .map_err(draw_error)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(draw_error)?;
        Ok(())
    })
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Draws with `draw` on a white canvas and returns the PNG.
fn render(draw: impl FnOnce(&Area<'_>) -> Result<(), ChartError>) -> Result<Vec<u8>, ChartError> {
    font()?;
    let mut rgb = vec![0_u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    encode_png(&rgb)
}

fn encode_png(rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    let encode = |e: png::EncodingError| ChartError::Encode(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(rgb).map_err(encode)?;
    writer.finish().map_err(encode)?;
    Ok(out)
}

/// Registers the bundled font once per process.
fn font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ChartError::Draw(
            "the bundled font cannot be read".to_owned(),
        ))
    }
}

fn draw_error(e: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(e.to_string())
}
