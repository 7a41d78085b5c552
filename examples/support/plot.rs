//! SVG plots for the examples (plotters' SVG backend: no fonts or system libraries needed).
// Each example uses the part of this module it needs.
#![allow(dead_code)]

use plotters::prelude::*;

/// One named curve or point cloud.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Points instead of a line.
    pub scatter: bool,
}

impl Series {
    pub fn line(name: &str, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.to_string(), points, scatter: false }
    }
    pub fn scatter(name: &str, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.to_string(), points, scatter: true }
    }
}

/// Draws `series` into `target/plots/NAME.svg` and returns the path.
pub fn svg(
    name: &str,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[Series],
) -> Result<String, Box<dyn std::error::Error>> {
    std::fs::create_dir_all("target/plots")?;
    let path = format!("target/plots/{name}.svg");
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let pad = 0.05 * (y1 - y0).max(1e-9);
    draw(&path, title, (x_label, y_label), series, (x0, x1, y0 - pad, y1 + pad))?;
    Ok(path)
}

type Bounds = (f64, f64, f64, f64);

fn draw(
    path: &str,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[Series],
    (x0, x1, y0, y1): Bounds,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw()?;
    for (k, s) in series.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        if s.scatter {
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 2, color.filled())))?
                .label(s.name.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
        } else {
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
