//! Charts render known data into PNGs whose pixels show it: the signature, the size,
//! each line's colour where the data puts it, and text.

use chrono::NaiveDate;
use rlhf_bot::bot::charts::{
    ACTUAL_COLOR, ALGORITHM_COLOR, ChartError, DIVERGENCE_COLOR, HEIGHT, WIDTH, cumulative_pnl_png,
    divergence_rate_png,
};
use rlhf_bot::domain::Money;

/// A decoded RGB image.
struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn decode(png_bytes: &[u8]) -> Self {
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n", "the PNG signature");
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().expect("a readable PNG");
        let mut rgb = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut rgb).expect("one frame");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        rgb.truncate(info.buffer_size());
        Self {
            width: info.width,
            height: info.height,
            rgb,
        }
    }

    fn pixel(&self, x: u32, y: u32) -> (u8, u8, u8) {
        let i = ((y * self.width + x) * 3) as usize;
        (self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
    }

    /// Pixels close to `color` (anti-aliased edges aside) in columns `xs`.
    fn matching(&self, color: (u8, u8, u8), xs: std::ops::Range<u32>) -> Vec<(u32, u32)> {
        let near = |a: u8, b: u8| a.abs_diff(b) <= 12;
        let mut out = Vec::new();
        for y in 0..self.height {
            for x in xs.clone() {
                let p = self.pixel(x, y);
                if near(p.0, color.0) && near(p.1, color.1) && near(p.2, color.2) {
                    out.push((x, y));
                }
            }
        }
        out
    }

    /// Dark (text or axis) pixels in a band of rows.
    fn dark_in_rows(&self, ys: std::ops::Range<u32>) -> usize {
        ys.flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let p = self.pixel(x, y);
                u32::from(p.0) + u32::from(p.1) + u32::from(p.2) < 200
            })
            .count()
    }
}

fn rgb(c: plotters::style::RGBColor) -> (u8, u8, u8) {
    (c.0, c.1, c.2)
}

fn mean_y(points: &[(u32, u32)]) -> f64 {
    points.iter().map(|p| f64::from(p.1)).sum::<f64>() / points.len() as f64
}

fn save(name: &str, bytes: &[u8]) {
    // Kept for a look: `target/charts/NAME.png`.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("charts");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), bytes);
}

#[test]
fn the_divergence_line_rises_where_the_rate_rises_and_the_chart_has_text() {
    let points: Vec<(String, f64)> = (1..=8)
        .map(|w| (format!("W{w:02}"), f64::from(w) / 10.0))
        .collect();
    let started = std::time::Instant::now();
    let bytes = divergence_rate_png(&points).unwrap();
    println!(
        "divergence chart: {} bytes in {:?}",
        bytes.len(),
        started.elapsed()
    );
    save("divergence.png", &bytes);
    let img = Image::decode(&bytes);
    assert_eq!((img.width, img.height), (WIDTH, HEIGHT));
    let third = WIDTH / 3;
    let left = img.matching(rgb(DIVERGENCE_COLOR), 0..third);
    let right = img.matching(rgb(DIVERGENCE_COLOR), 2 * third..WIDTH);
    assert!(
        left.len() > 100 && right.len() > 100,
        "{} {}",
        left.len(),
        right.len()
    );
    assert!(
        mean_y(&right) + 100.0 < mean_y(&left),
        "the line is higher on the right: {} vs {}",
        mean_y(&right),
        mean_y(&left)
    );
    assert!(img.dark_in_rows(0..50) > 200, "the caption is drawn");
    assert!(
        img.dark_in_rows(HEIGHT - 50..HEIGHT) > 200,
        "the week labels are drawn"
    );
}

#[test]
fn cumulative_pnl_shows_both_lines_apart_where_they_diverge() {
    let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let points: Vec<(NaiveDate, Money, Money)> = (0..20)
        .map(|d| {
            let day = start + chrono::Duration::days(d);
            // You gain $100 a day, the algorithm $20: far apart on the right.
            (
                day,
                Money::from_units(d * 100 * 10_000),
                Money::from_units(d * 20 * 10_000),
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let bytes = cumulative_pnl_png(&points).unwrap();
    println!(
        "P&L chart: {} bytes in {:?}",
        bytes.len(),
        started.elapsed()
    );
    save("pnl.png", &bytes);
    let img = Image::decode(&bytes);
    assert_eq!((img.width, img.height), (WIDTH, HEIGHT));
    let right = (WIDTH * 3 / 4)..(WIDTH - 30);
    let you = img.matching(rgb(ACTUAL_COLOR), right.clone());
    let algo = img.matching(rgb(ALGORITHM_COLOR), right);
    assert!(
        you.len() > 50 && algo.len() > 50,
        "{} {}",
        you.len(),
        algo.len()
    );
    assert!(
        mean_y(&you) + 100.0 < mean_y(&algo),
        "your line is above the algorithm's: {} vs {}",
        mean_y(&you),
        mean_y(&algo)
    );
    assert!(img.dark_in_rows(0..50) > 200, "the caption is drawn");
}

#[test]
fn losses_and_a_single_day_still_draw() {
    let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let one = [(day, Money::from_units(-500_000), Money::from_units(250_000))];
    let img = Image::decode(&cumulative_pnl_png(&one).unwrap());
    assert!(!img.matching(rgb(ACTUAL_COLOR), 0..WIDTH).is_empty());
    assert!(!img.matching(rgb(ALGORITHM_COLOR), 0..WIDTH).is_empty());
    let single = divergence_rate_png(&[("2026-W02".to_owned(), 0.5)]).unwrap();
    assert!(
        !Image::decode(&single)
            .matching(rgb(DIVERGENCE_COLOR), 0..WIDTH)
            .is_empty()
    );
}

#[test]
fn no_data_and_bad_values_are_errors_that_say_why() {
    assert_eq!(divergence_rate_png(&[]), Err(ChartError::NoData));
    assert_eq!(cumulative_pnl_png(&[]), Err(ChartError::NoData));
    let e = divergence_rate_png(&[("W01".to_owned(), 1.5)]).unwrap_err();
    assert!(e.to_string().contains("W01"), "{e}");
    let e = divergence_rate_png(&[("W02".to_owned(), f64::NAN)]).unwrap_err();
    assert!(matches!(e, ChartError::BadValue(_)));
    let d = |n| NaiveDate::from_ymd_opt(2026, 1, n).unwrap();
    let e = cumulative_pnl_png(&[
        (d(6), Money::from_units(0), Money::from_units(0)),
        (d(5), Money::from_units(0), Money::from_units(0)),
    ])
    .unwrap_err();
    assert!(matches!(e, ChartError::BadValue(_)));
}
