//! Figures, drawn with plotters into SVG and PNG (each written to a temporary file, then
//! renamed into place).

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One line with its confidence band.
pub struct Series {
    pub label: String,
    pub color: RGBColor,
    pub mean: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    pub dashed: bool,
}

/// A panel of series over a shared x axis.
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// x value of each point (epochs, or depths).
    pub xs: Vec<f64>,
    pub series: Vec<Series>,
    /// Horizontal reference line, with its label.
    pub reference: Option<(f64, String)>,
    /// Use a log2 x axis (for depths).
    pub log2_x: bool,
}

pub const BP_COLOR: RGBColor = RGBColor(31, 119, 180);
pub const FF_COLOR: RGBColor = RGBColor(214, 39, 40);
pub const TEXT_COLOR: RGBColor = RGBColor(255, 127, 14);
pub const WARM_COLOR: RGBColor = RGBColor(44, 160, 44);

/// An agent's colour in the memory figure: the palette in [`agents::AgentKind::ALL`]'s order,
/// skipping the two colours the paper's FF variants keep (text labels, the BP warm start), so
/// that BP-DQN and FF-DQN read blue and red as in every other figure.
pub fn agent_color(kind: agents::AgentKind) -> RGBColor {
    let i = agents::AgentKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0);
    PALETTE
        .iter()
        .filter(|c| **c != TEXT_COLOR && **c != WARM_COLOR)
        .cycle()
        .nth(i)
        .copied()
        .unwrap_or(BP_COLOR)
}

/// Colours of groups in figures, in group order (matplotlib's tab10, red second so that the
/// paper's BP/FF pair reads blue/red).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `i`-th group.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Registers the embedded DejaVu Sans for chart text: figures need no font installed.
fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Registering a valid TrueType font cannot fail; if it ever did, text would fall back
        // to plotters' default and the figures would still be written.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// A plotters error, as a message (its error types borrow the backend).
fn pl<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> std::result::Result<T, String> {
    r.map_err(|e| e.to_string())
}

/// The y range of a panel: every finite value of its series and its reference line, padded by
/// 5% (not below 0 for values that are all non-negative); `[0, 1]` when nothing is finite.
fn y_range(p: &Panel) -> (f64, f64) {
    let all = p
        .series
        .iter()
        .flat_map(|s| s.lo.iter().chain(&s.hi).chain(&s.mean))
        .copied()
        .filter(|v| v.is_finite());
    let (mut y_min, mut y_max) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if let Some((r, _)) = p.reference {
        y_min = y_min.min(r);
        y_max = y_max.max(r);
    }
    if !y_min.is_finite() {
        (y_min, y_max) = (0.0, 1.0);
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-9);
    (
        if y_min >= 0.0 {
            0.0f64.max(y_min - pad)
        } else {
            y_min - pad
        },
        y_max + pad,
    )
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
) -> std::result::Result<(), String> {
    let (y_min, y_max) = y_range(p);
    let tx = |x: f64| if p.log2_x { x.log2() } else { x };
    let x_first = p.xs.first().copied().unwrap_or(0.0);
    let x_last = p.xs.last().copied().unwrap_or(1.0);
    let (x0, x1) = (tx(x_first), tx(x_last).max(tx(x_first) + 1e-9));
    let mut chart = pl(ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y_min..y_max))?;
    let log2 = p.log2_x;
    pl(chart
        .configure_mesh()
        .x_desc(&p.x_label)
        .y_desc(&p.y_label)
        .x_label_formatter(&|x| {
            if log2 {
                format!("{:.0}", 2f64.powf(*x))
            } else {
                format!("{x:.0}")
            }
        })
        .x_labels(if log2 { p.xs.len() } else { 10 })
        .light_line_style(WHITE.mix(0.0))
        .draw())?;
    if let Some((r, label)) = &p.reference {
        let r = *r;
        pl(chart.draw_series(LineSeries::new(
            [(x0, r), (x1, r)],
            BLACK.mix(0.4).stroke_width(1),
        )))?
        .label(label.clone())
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));
    }
    for s in &p.series {
        let band: Vec<(f64, f64)> =
            p.xs.iter()
                .zip(&s.hi)
                .map(|(&x, &h)| (tx(x), h))
                .chain(p.xs.iter().zip(&s.lo).rev().map(|(&x, &l)| (tx(x), l)))
                .filter(|(_, y)| y.is_finite())
                .collect();
        if band.len() > 2 {
            pl(chart.draw_series(std::iter::once(Polygon::new(
                band,
                s.color.mix(0.18).filled(),
            ))))?;
        }
        let line: Vec<(f64, f64)> =
            p.xs.iter()
                .zip(&s.mean)
                .filter(|(_, y)| y.is_finite())
                .map(|(&x, &y)| (tx(x), y))
                .collect();
        let color = s.color;
        let style = color.stroke_width(2);
        if s.dashed {
            pl(chart.draw_series(DashedLineSeries::new(line, 6, 4, style)))?
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
        } else {
            pl(chart.draw_series(LineSeries::new(line, style)))?
                .label(s.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
    }
    pl(chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .draw())?;
    Ok(())
}

fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[Panel],
    cols: usize,
) -> std::result::Result<(), String> {
    pl(root.fill(&WHITE))?;
    let rows = panels.len().div_ceil(cols);
    let areas = root.split_evenly((rows, cols));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    pl(root.present())?;
    Ok(())
}

/// Draws `panels` in a grid of `cols` columns into `<stem>.svg` and `<stem>.png`.
pub fn render(dir: &Path, stem: &str, panels: &[Panel], cols: usize) -> Result<()> {
    register_font();
    let rows = panels.len().div_ceil(cols) as u32;
    let size = (560 * cols as u32, 420 * rows);
    let svg_path = crate::ExperimentDir::at(dir).figure(stem, "svg");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw_grid(&root, panels, cols).map_err(|message| Error::Draw {
            path: svg_path.clone(),
            message,
        })?;
    }
    crate::write_file(&svg_path, svg.as_bytes())?;
    let png_path = crate::ExperimentDir::at(dir).figure(stem, "png");
    let tmp = dir.join(format!(".{stem}.png.tmp-{}.png", std::process::id()));
    {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        draw_grid(&root, panels, cols).map_err(|message| Error::Draw {
            path: png_path.clone(),
            message,
        })?;
    }
    std::fs::rename(&tmp, &png_path).map_err(crate::error::write_err(&png_path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_has_a_colour_of_its_own_and_bp_ff_keep_blue_and_red() {
        let colours: Vec<RGBColor> = agents::AgentKind::ALL.map(agent_color).to_vec();
        for (i, a) in colours.iter().enumerate() {
            assert!(
                *a != TEXT_COLOR && *a != WARM_COLOR,
                "{a:?} is an FF variant's"
            );
            assert!(colours[i + 1..].iter().all(|b| b != a), "{colours:?}");
        }
        assert!(agent_color(agents::AgentKind::Bp) == BP_COLOR);
        assert!(agent_color(agents::AgentKind::Ff) == FF_COLOR);
    }
}
