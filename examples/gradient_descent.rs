//! The lecture's first part, "Gradient descent": Analytical Exercise 1.1, the gradient of
//! `z = h(x, y) = sin(x² + y²)`, from `graph!` and by hand; arrows of the gradient over the
//! contours of `h`, each pointing the way `h` rises fastest; and gradient descent,
//! `w ← w − η ∇h(w)`, walking down those contours into a minimum.
//!
//! Analytical Exercise 1.2 asks how easy it would be to do the same by hand for
//! `tanh(ln(1 + z·2x/sin(y)))`; the computational graph of part 2 is the answer.
//!
//! It checks what its pictures claim and exits with status 1 if a check fails: the generated
//! gradient equals the hand-derived one, every arrow points uphill and no direction rises
//! faster, and the descent from the first start ends in the ring of minima `x² + y² = 3π/2`,
//! where `h = −1`.
//!
//! `cargo run --release --example gradient_descent` runs this part alone; it draws
//! `target/lecture/gradient-arrows.svg` and `target/lecture/gradient-descent.svg`.

use std::f64::consts::PI;
use std::path::PathBuf;

use chainrule::graph;
use plotters::prelude::*;

#[allow(dead_code)] // Each part uses some of the drawing helpers.
#[allow(clippy::duplicate_mod)] // The tour includes every part, each with its own copy of them.
#[path = "support/plot.rs"]
mod plot;

graph! {
    /// Analytical Exercise 1.1: `z = h(x, y) = sin(x² + y²)`.
    pub fn h(x: f64, y: f64) -> f64 {
        sin(x^2 + y^2)
    }
}

/// Half the width of the square the pictures show, `[-3, 3]²` as in the exercise.
pub const EXTENT: f64 = 3.0;
/// The spacing of the arrows, on a grid from −2.5 to 2.5.
pub const ARROW_SPACING: f64 = 0.5;
/// How many directions, evenly spread, an arrow is compared with.
pub const DIRECTIONS: usize = 360;
/// The learning rate of the descents.
pub const LEARNING_RATE: f64 = 0.03;
/// Steps of each descent.
pub const STEPS: usize = 300;
/// Where the descents start: just outside the ring of maxima `x² + y² = π/2`, just inside the
/// next one, `5π/2`, and just inside the first. The first two end in the ring of minima
/// between them, the third in the local minimum at the origin: a gradient only sees its
/// neighbourhood.
pub const STARTS: [(f64, f64); 3] = [(0.65, 1.15), (-2.55, -1.0), (0.9, -0.75)];

/// The gradient by hand, by the chain rule: `∂z/∂x = cos(x² + y²)·2x`, `∂z/∂y = cos(x² + y²)·2y`.
pub fn gradient_by_hand(x: f64, y: f64) -> (f64, f64) {
    let inner = x * x + y * y;
    (inner.cos() * 2.0 * x, inner.cos() * 2.0 * y)
}

/// The gradient from `graph!`.
pub fn gradient(x: f64, y: f64) -> (f64, f64) {
    let (_, grad) = h::value_and_grad(x, y);
    (grad.x, grad.y)
}

/// One arrow of the picture: the gradient at a point of the grid.
#[derive(Clone, Copy, Debug)]
pub struct Arrow {
    pub at: (f64, f64),
    pub gradient: (f64, f64),
}

/// The gradient at every point of a square grid, `spacing` apart and `spacing` inside the
/// square `[-extent, extent]²`: −2.5, −2, …, 2.5 in each coordinate, as in the exercise.
pub fn gradient_field(extent: f64, spacing: f64) -> Vec<Arrow> {
    let count = ((2.0 * (extent - spacing)) / spacing).round() as i64;
    let coordinates: Vec<f64> = (0..=count)
        .map(|k| -extent + spacing + k as f64 * spacing)
        .collect();
    let mut arrows = Vec::new();
    for &y in &coordinates {
        for &x in &coordinates {
            arrows.push(Arrow {
                at: (x, y),
                gradient: gradient(x, y),
            });
        }
    }
    arrows
}

/// What a step of `step_length` along the arrow does to `h`, against the best of
/// `directions` evenly spread directions: `(rise along the arrow, largest rise of any
/// direction)`. The gradient points uphill if the first is positive, and is the steepest
/// ascent if no direction beats it (up to rounding).
pub fn rise_along(arrow: &Arrow, step_length: f64, directions: usize) -> (f64, f64) {
    let (x, y) = arrow.at;
    let here = h::forward(x, y);
    let (gx, gy) = arrow.gradient;
    let norm = (gx * gx + gy * gy).sqrt();
    let along = h::forward(x + step_length * gx / norm, y + step_length * gy / norm) - here;
    let best = (0..directions)
        .map(|k| {
            let angle = 2.0 * PI * k as f64 / directions as f64;
            h::forward(x + step_length * angle.cos(), y + step_length * angle.sin()) - here
        })
        .fold(f64::NEG_INFINITY, f64::max);
    (along, best)
}

/// A run of gradient descent: every point visited, the start first.
#[derive(Clone, Debug)]
pub struct Descent {
    pub learning_rate: f64,
    pub path: Vec<(f64, f64)>,
}

impl Descent {
    /// The last point.
    pub fn end(&self) -> (f64, f64) {
        *self.path.last().expect("a path has its start")
    }
}

/// `steps` steps of `w ← w − η ∇h(w)` from `start`, the gradient from `graph!`.
pub fn descend(start: (f64, f64), learning_rate: f64, steps: usize) -> Descent {
    let mut path = Vec::with_capacity(steps + 1);
    let (mut x, mut y) = start;
    path.push((x, y));
    for _ in 0..steps {
        let (gx, gy) = gradient(x, y);
        x -= learning_rate * gx;
        y -= learning_rate * gy;
        path.push((x, y));
    }
    Descent {
        learning_rate,
        path,
    }
}

/// The checks behind the pictures, as numbers.
#[derive(Clone, Debug)]
pub struct Results {
    pub arrows: Vec<Arrow>,
    /// The largest difference between the generated and the hand-derived gradient.
    pub largest_difference: f64,
    /// Arrows with a gradient large enough to have a direction.
    pub arrows_with_direction: usize,
    /// Of those, the ones along which `h` rises.
    pub arrows_uphill: usize,
    /// Of those, the ones no other direction beats.
    pub arrows_steepest: usize,
    pub descents: Vec<Descent>,
}

/// Computes everything this part shows.
pub fn compute(steps: usize) -> Results {
    let arrows = gradient_field(EXTENT, ARROW_SPACING);
    let mut largest_difference: f64 = 0.0;
    let (mut with_direction, mut uphill, mut steepest) = (0, 0, 0);
    for arrow in &arrows {
        let (hx, hy) = gradient_by_hand(arrow.at.0, arrow.at.1);
        largest_difference = largest_difference
            .max((arrow.gradient.0 - hx).abs())
            .max((arrow.gradient.1 - hy).abs());
        let (gx, gy) = arrow.gradient;
        if (gx * gx + gy * gy).sqrt() > 1e-9 {
            with_direction += 1;
            let (along, best) = rise_along(arrow, 1e-4, DIRECTIONS);
            uphill += usize::from(along > 0.0);
            // Rounding aside, the gradient's direction is the best of them all.
            steepest += usize::from(along >= best - 1e-12);
        }
    }
    let descents = STARTS
        .iter()
        .map(|&start| descend(start, LEARNING_RATE, steps))
        .collect();
    Results {
        arrows,
        largest_difference,
        arrows_with_direction: with_direction,
        arrows_uphill: uphill,
        arrows_steepest: steepest,
        descents,
    }
}

/// Where a descent ended: `(h, |∇h|, x² + y²)`.
pub fn landing(descent: &Descent) -> (f64, f64, f64) {
    let (x, y) = descent.end();
    let (gx, gy) = gradient(x, y);
    (h::forward(x, y), (gx * gx + gy * gy).sqrt(), x * x + y * y)
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Runs this part: prints what it computed, draws its pictures, and returns their paths.
pub fn run() -> Vec<PathBuf> {
    let results = compute(STEPS);
    println!("z = h(x, y) = sin(x² + y²), its gradient from graph! and by hand (Analytical Exercise 1.1):");
    println!("  ∂z/∂x = cos(x² + y²)·2x, ∂z/∂y = cos(x² + y²)·2y");
    println!(
        "  at the {} arrows of the picture, the two differ by at most {:.1e}",
        results.arrows.len(),
        results.largest_difference
    );
    println!(
        "  {} of the {} arrows with a direction point uphill, and at {} no direction of {DIRECTIONS} rises faster",
        results.arrows_uphill, results.arrows_with_direction, results.arrows_steepest
    );
    if results.largest_difference > 1e-12 {
        fail("the generated gradient differs from the hand-derived one");
    }
    if results.arrows_uphill != results.arrows_with_direction
        || results.arrows_steepest != results.arrows_with_direction
    {
        fail("an arrow does not point the way h rises fastest");
    }
    println!();
    println!("Gradient descent w ← w − η∇h(w), η = {LEARNING_RATE}, {STEPS} steps:");
    for descent in &results.descents {
        let (value, gradient_norm, radius_squared) = landing(descent);
        let (x0, y0) = descent.path[0];
        let (x, y) = descent.end();
        println!(
            "  from ({x0:>5.2}, {y0:>5.2}) to ({x:>6.3}, {y:>6.3}): h = {value:>10.6}, |∇h| = {gradient_norm:.1e}, x² + y² = {radius_squared:.6}"
        );
    }
    let (value, gradient_norm, radius_squared) = landing(&results.descents[0]);
    println!(
        "  The first ends in the ring of minima x² + y² = 3π/2 = {:.6}, where h = sin(3π/2) = {:.0};",
        1.5 * PI,
        (1.5 * PI).sin()
    );
    println!(
        "  the last in the local minimum at the origin: a gradient only sees its neighbourhood."
    );
    if (value + 1.0).abs() > 1e-9
        || gradient_norm > 1e-6
        || (radius_squared - 1.5 * PI).abs() > 1e-6
    {
        fail("the first descent did not reach the minimum");
    }
    let mut pictures = Vec::new();
    for (name, draw) in [
        (
            "gradient-arrows.svg",
            draw_arrows as fn(&Results, &std::path::Path) -> plot::DrawResult<()>,
        ),
        ("gradient-descent.svg", draw_descents),
    ] {
        match plot::picture_path(name).and_then(|path| draw(&results, &path).map(|()| path)) {
            Ok(path) => pictures.push(path),
            Err(error) => fail(&format!("could not draw {name}: {error}")),
        }
    }
    println!();
    println!("  picture: {} (the arrows)", pictures[0].display());
    println!("  picture: {} (the descents)", pictures[1].display());
    pictures
}

/// The contour levels of the pictures.
fn levels() -> Vec<f64> {
    (0..=8).map(|k| -1.0 + 0.25 * k as f64).collect()
}

/// Draws the contours of `h` on a square chart of `area` and returns the chart.
fn contour_chart<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
) -> plot::DrawResult<
    ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption, plot::font(plot::CAPTION_SIZE))
        .margin(14)
        .x_label_area_size(56)
        .y_label_area_size(64)
        .build_cartesian_2d(-EXTENT..EXTENT, -EXTENT..EXTENT)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style(plot::font(plot::TICK_SIZE))
        .axis_desc_style(plot::font(plot::LABEL_SIZE))
        .draw()?;
    let grid: Vec<f64> = (0..=150)
        .map(|k| -EXTENT + k as f64 * 2.0 * EXTENT / 150.0)
        .collect();
    for level in levels() {
        let color = plot::colormap((level + 1.0) / 2.0);
        for line in plot::contour_lines(&grid, &grid, &|x, y| h::forward(x, y), level) {
            chart.draw_series(std::iter::once(PathElement::new(
                line,
                color.stroke_width(2),
            )))?;
        }
    }
    Ok(chart)
}

/// The contours of `h` with the gradient's arrows.
fn draw_arrows(results: &Results, path: &std::path::Path) -> plot::DrawResult<()> {
    let root = plot::canvas(path, (880, 760))?;
    let (left, right) = root.split_horizontally(760);
    let chart = contour_chart(&left, "Gradient vectors point towards steepest ascent")?;
    // Arrows are drawn in pixels, so their heads keep their shape: the longest gradient
    // spans 90% of the grid spacing.
    let longest = results
        .arrows
        .iter()
        .map(|a| a.gradient.0.hypot(a.gradient.1))
        .fold(0.0, f64::max);
    let scale = 0.9 * ARROW_SPACING / longest;
    let red = RGBColor(200, 30, 30);
    for arrow in &results.arrows {
        let (x, y) = arrow.at;
        let (gx, gy) = arrow.gradient;
        if gx.hypot(gy) < 1e-9 {
            continue;
        }
        let tail = chart.backend_coord(&(x, y));
        let tip = chart.backend_coord(&(x + scale * gx, y + scale * gy));
        for stroke in plot::arrow(tail, tip, 9.0) {
            root.draw(&PathElement::new(stroke, red.stroke_width(2)))?;
        }
    }
    // A legend entry for the arrows, by hand: the arrows are drawn outside the chart's series.
    let (legend_x, legend_y) = chart.backend_coord(&(-EXTENT + 0.15, EXTENT - 0.2));
    root.draw(&Rectangle::new(
        [
            (legend_x - 6, legend_y - 16),
            (legend_x + 250, legend_y + 18),
        ],
        WHITE.mix(0.85).filled(),
    ))?;
    for stroke in plot::arrow((legend_x, legend_y), (legend_x + 34, legend_y), 9.0) {
        root.draw(&PathElement::new(stroke, red.stroke_width(2)))?;
    }
    root.draw(&Text::new(
        "∇h(x, y), scaled",
        (legend_x + 44, legend_y - 9),
        plot::font(plot::LEGEND_SIZE),
    ))?;
    plot::colour_bar(&right, -1.0, 1.0, "z = sin(x² + y²)")?;
    root.present()?;
    Ok(())
}

/// The contours of `h` with the paths of the descents.
fn draw_descents(results: &Results, path: &std::path::Path) -> plot::DrawResult<()> {
    let root = plot::canvas(path, (880, 760))?;
    let (left, right) = root.split_horizontally(760);
    let mut chart = contour_chart(
        &left,
        &format!(
            "Gradient descent on sin(x² + y²), η = {}",
            results.descents[0].learning_rate
        ),
    )?;
    for (index, descent) in results.descents.iter().enumerate() {
        let color = [plot::PALETTE[4], plot::PALETTE[0], RGBColor(200, 30, 30)][index % 3];
        let (x0, y0) = descent.path[0];
        let (value, _, _) = landing(descent);
        // A dot for each of the first 60 steps, where the path moves; the line goes on.
        chart
            .draw_series(std::iter::once(PathElement::new(
                descent.path.clone(),
                color.stroke_width(3),
            )))?
            .label(format!("from ({x0}, {y0}): ends at h = {value:.3}"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
        chart.draw_series(
            descent
                .path
                .iter()
                .take(60)
                .map(|&p| Circle::new(p, 3, color.filled())),
        )?;
        chart.draw_series(std::iter::once(Circle::new(
            descent.end(),
            7,
            color.stroke_width(3),
        )))?;
    }
    plot::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    plot::colour_bar(&right, -1.0, 1.0, "z = sin(x² + y²)")?;
    root.present()?;
    Ok(())
}

#[allow(dead_code)] // The tour calls `run` instead.
fn main() {
    run();
}
