//! Drawing for the lecture's examples: where the pictures go, one look for every chart, and the
//! shapes plotters lacks (contour lines, arrows, a colour bar). It draws what it is given and
//! computes none of the numbers a picture claims.
//!
//! Each part includes this file as a module (`#[path = "support/plot.rs"] mod plot;`); it is
//! not an example of its own (cargo only builds `examples/*.rs` and `examples/*/main.rs`).

use std::collections::HashMap;
use std::path::PathBuf;

use plotters::coord::Shift;
use plotters::prelude::*;

/// What drawing returns: plotters' errors and file errors alike.
pub type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Draws `chart`'s legend at `position` in the tour's one style: a white, bordered box.
pub fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(font(LEGEND_SIZE))
        .draw()?;
    Ok(())
}

/// The font of every text: the SVG names a family and the viewer picks it, so nothing is
/// embedded and no font file is needed to draw.
pub const FONT: &str = "sans-serif";
/// Font sizes, as plotters takes them (it draws text at 1/1.24 of the size it is given), chosen
/// to stay readable when a picture is shown at README width (about 800 pixels), which shrinks
/// a 1200-pixel-wide picture by a third.
pub const CAPTION_SIZE: u32 = 32;
pub const LABEL_SIZE: u32 = 26;
pub const TICK_SIZE: u32 = 22;
pub const LEGEND_SIZE: u32 = 22;

/// Okabe and Ito's colour-blind-safe palette, black first.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 0, 0),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(204, 121, 167),
    RGBColor(240, 228, 66),
];

/// The `index`-th colour for series, skipping black and the yellow that is hard to see on white.
pub fn series_color(index: usize) -> RGBColor {
    const ORDER: [usize; 6] = [5, 4, 3, 1, 6, 2];
    PALETTE[ORDER[index % ORDER.len()]]
}

/// Where the pictures go: `lecture/` in Cargo's target directory, created if need be. That is
/// `$CARGO_TARGET_DIR` when it is set (a relative one is relative to the current directory,
/// as for Cargo, which runs the example there), else `target/` under the workspace.
pub fn output_dir() -> DrawResult<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")),
        PathBuf::from,
    );
    let directory = target.join("lecture");
    std::fs::create_dir_all(&directory)?;
    Ok(directory)
}

/// The path of the picture `file_name` in [`output_dir`].
pub fn picture_path(file_name: &str) -> DrawResult<PathBuf> {
    Ok(output_dir()?.join(file_name))
}

/// A white SVG canvas of `size` pixels writing to `path` when presented.
pub fn canvas(
    path: &std::path::Path,
    size: (u32, u32),
) -> DrawResult<DrawingArea<SVGBackend<'_>, Shift>> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    Ok(root)
}

/// A text style of `size` pixels in [`FONT`].
pub fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// A colour from a perceptually ordered map (dark blue → teal → yellow, like viridis) for
/// `t` in [0, 1].
pub fn colormap(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let index = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - index as f64;
    let (a, b) = (STOPS[index], STOPS[index + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The contour lines of `value` at `level` over the grid `xs × ys`, by marching squares, as
/// polylines in data coordinates (each crossing of a grid edge is interpolated linearly, and
/// the segments of neighbouring cells are joined into one line).
pub fn contour_lines(
    xs: &[f64],
    ys: &[f64],
    value: &dyn Fn(f64, f64) -> f64,
    level: f64,
) -> Vec<Vec<(f64, f64)>> {
    let (nx, ny) = (xs.len(), ys.len());
    if nx < 2 || ny < 2 {
        return Vec::new();
    }
    let grid: Vec<Vec<f64>> = ys
        .iter()
        .map(|&y| xs.iter().map(|&x| value(x, y) - level).collect())
        .collect();
    // An edge of the grid: (vertical?, i, j) from corner (i, j) to (i + 1, j) or (i, j + 1).
    type Edge = (bool, usize, usize);
    let crossing = |edge: Edge| -> (f64, f64) {
        let (vertical, i, j) = edge;
        let (i2, j2) = if vertical { (i, j + 1) } else { (i + 1, j) };
        let (a, b) = (grid[j][i], grid[j2][i2]);
        let t = if a == b { 0.5 } else { a / (a - b) };
        (xs[i] + t * (xs[i2] - xs[i]), ys[j] + t * (ys[j2] - ys[j]))
    };
    let mut segments: Vec<(Edge, Edge)> = Vec::new();
    for j in 0..ny - 1 {
        for i in 0..nx - 1 {
            let corners = [
                grid[j][i],
                grid[j][i + 1],
                grid[j + 1][i + 1],
                grid[j + 1][i],
            ];
            let case = corners
                .iter()
                .enumerate()
                .fold(0, |case, (bit, v)| case | (usize::from(*v > 0.0) << bit));
            let bottom = (false, i, j);
            let right = (true, i + 1, j);
            let top = (false, i, j + 1);
            let left = (true, i, j);
            let centre_above = corners.iter().sum::<f64>() > 0.0;
            match case {
                0 | 15 => {}
                1 | 14 => segments.push((left, bottom)),
                2 | 13 => segments.push((bottom, right)),
                3 | 12 => segments.push((left, right)),
                4 | 11 => segments.push((right, top)),
                6 | 9 => segments.push((bottom, top)),
                7 | 8 => segments.push((left, top)),
                // Saddles: the centre decides which corners are joined.
                5 => {
                    if centre_above {
                        segments.push((left, top));
                        segments.push((bottom, right));
                    } else {
                        segments.push((left, bottom));
                        segments.push((right, top));
                    }
                }
                10 => {
                    if centre_above {
                        segments.push((left, bottom));
                        segments.push((right, top));
                    } else {
                        segments.push((left, top));
                        segments.push((bottom, right));
                    }
                }
                _ => unreachable!("four corners make 16 cases"),
            }
        }
    }
    // Join segments that share an edge crossing into polylines.
    let mut at_edge: HashMap<Edge, Vec<usize>> = HashMap::new();
    for (index, (a, b)) in segments.iter().enumerate() {
        at_edge.entry(*a).or_default().push(index);
        at_edge.entry(*b).or_default().push(index);
    }
    let mut used = vec![false; segments.len()];
    let mut lines = Vec::new();
    for first in 0..segments.len() {
        if used[first] {
            continue;
        }
        used[first] = true;
        let (a, b) = segments[first];
        let mut chain = std::collections::VecDeque::from([a, b]);
        // Extend at the back, then at the front.
        for forward in [true, false] {
            loop {
                let end = if forward {
                    chain[chain.len() - 1]
                } else {
                    chain[0]
                };
                let next = at_edge[&end].iter().copied().find(|&s| !used[s]);
                let Some(next) = next else { break };
                used[next] = true;
                let (p, q) = segments[next];
                let other = if p == end { q } else { p };
                if forward {
                    chain.push_back(other);
                } else {
                    chain.push_front(other);
                }
            }
        }
        lines.push(chain.into_iter().map(crossing).collect());
    }
    lines
}

/// An arrow from `tail` to `tip` in pixel coordinates: the shaft and the two strokes of the
/// head, `head` pixels long.
pub fn arrow(tail: (i32, i32), tip: (i32, i32), head: f64) -> [Vec<(i32, i32)>; 2] {
    let (dx, dy) = ((tip.0 - tail.0) as f64, (tip.1 - tail.1) as f64);
    let length = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / length, dy / length);
    let head = head.min(length * 0.6);
    // The two strokes, 25° either side of the shaft.
    let (cos, sin) = (25f64.to_radians().cos(), 25f64.to_radians().sin());
    let stroke = |sign: f64| {
        let (bx, by) = (-ux, -uy);
        let (rx, ry) = (bx * cos - sign * by * sin, sign * bx * sin + by * cos);
        (
            (tip.0 as f64 + head * rx).round() as i32,
            (tip.1 as f64 + head * ry).round() as i32,
        )
    };
    [vec![tail, tip], vec![stroke(1.0), tip, stroke(-1.0)]]
}

/// A vertical colour bar from `low` to `high` in [`colormap`]'s colours on `area`, titled
/// `title`: the key to lines coloured by their value.
pub fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    low: f64,
    high: f64,
    title: &str,
) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin_top(60)
        .margin_bottom(70)
        .margin_left(4)
        .right_y_label_area_size(76)
        .build_cartesian_2d(0.0..1.0, low..high)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .y_labels(5)
        .y_label_style(font(TICK_SIZE))
        .y_desc(title)
        .axis_desc_style(font(LABEL_SIZE))
        .draw()?;
    const BANDS: usize = 64;
    let span = high - low;
    chart.draw_series((0..BANDS).map(|band| {
        let (from, to) = (band as f64 / BANDS as f64, (band + 1) as f64 / BANDS as f64);
        Rectangle::new(
            [(0.0, low + from * span), (1.0, low + to * span)],
            colormap((from + to) / 2.0).filled(),
        )
    }))?;
    Ok(())
}
