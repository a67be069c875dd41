//! Draws `docs/images/mnist-step.svg`: the 784-H-10 classifier's value-and-gradient step
//! against its hidden width and its batch size, both forms beside the floor of their matrix
//! products and the 1.3× target, from the medians of `benches/mnist.rs`. Reads only the CSV
//! file that `benches/mnist_table.py` writes; never runs a benchmark.
//!
//! ```sh
//! cargo bench --bench mnist
//! python3 benches/mnist_table.py      # writes target/criterion/mnist-step.csv
//! cargo run --example plot_mnist_step -- target/criterion/mnist-step.csv docs/images/mnist-step.svg
//! ```
//!
//! Given copies of `target/criterion` from several runs, `mnist_table.py` writes the medians
//! over the runs into the first one's CSV file; `BENCHMARKS.md`'s picture is three runs'.

use std::error::Error;

use plotters::prelude::*;

/// One median of the CSV file: which sweep, the sizes, the contender, nanoseconds.
struct Median {
    sweep: String,
    hidden: f64,
    batch: f64,
    contender: String,
    nanoseconds: f64,
}

fn read(path: &str) -> Result<Vec<Median>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let mut medians = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [sweep, hidden, batch, contender, median, ..] = fields[..] else {
            return Err(format!("`{path}` line {}: expected 7 fields", number + 1).into());
        };
        medians.push(Median {
            sweep: sweep.to_string(),
            hidden: hidden.parse()?,
            batch: batch.parse()?,
            contender: contender.to_string(),
            nanoseconds: median.parse()?,
        });
    }
    Ok(medians)
}

/// The contenders drawn, with their colour and legend.
const LINES: [(&str, RGBColor, &str); 3] = [
    ("graph", RGBColor(31, 119, 180), "one graph!"),
    ("sequential", RGBColor(214, 39, 40), "Sequential"),
    (
        "floor",
        RGBColor(60, 60, 60),
        "floor: the products alone (gemm)",
    ),
];

/// One panel: step time in µs against the size that `sweep` varies, both axes logarithmic.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    medians: &[Median],
    sweep: &str,
    title: &str,
    x_label: &str,
) -> Result<(), Box<dyn Error>> {
    let size = |m: &Median| if sweep == "width" { m.hidden } else { m.batch };
    let points: Vec<&Median> = medians.iter().filter(|m| m.sweep == sweep).collect();
    if points.is_empty() {
        return Err(format!("no `{sweep}` medians in the file").into());
    }
    let (mut low_x, mut high_x, mut low_y, mut high_y) = (f64::MAX, 0f64, f64::MAX, 0f64);
    let mut sizes = Vec::new();
    for m in &points {
        low_x = low_x.min(size(m));
        high_x = high_x.max(size(m));
        low_y = low_y.min(m.nanoseconds / 1e3);
        high_y = high_y.max(m.nanoseconds / 1e3);
        if !sizes.contains(&size(m)) {
            sizes.push(size(m));
        }
    }
    // Label the sizes measured, and 1-2-5 steps of time.
    let times: Vec<f64> = [
        1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
    ]
    .into_iter()
    .filter(|t| (low_y / 1.3..high_y * 1.3).contains(t))
    .collect();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(
            (low_x / 1.3..high_x * 1.3)
                .log_scale()
                .with_key_points(sizes),
            (low_y / 1.3..high_y * 1.3)
                .log_scale()
                .with_key_points(times),
        )?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc(x_label)
        .y_desc("step time (µs)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for (contender, colour, legend) in LINES {
        let mut line: Vec<(f64, f64)> = points
            .iter()
            .filter(|m| m.contender == contender)
            .map(|m| (size(m), m.nanoseconds / 1e3))
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        let style = colour.stroke_width(2);
        chart
            .draw_series(LineSeries::new(line.iter().copied(), style))?
            .label(legend)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        chart.draw_series(
            line.iter()
                .map(|&point| Circle::new(point, 3, colour.filled())),
        )?;
    }
    // The target: each form at most 1.3 times the floor.
    let mut target: Vec<(f64, f64)> = points
        .iter()
        .filter(|m| m.contender == "floor")
        .map(|m| (size(m), 1.3 * m.nanoseconds / 1e3))
        .collect();
    target.sort_by(|a, b| a.0.total_cmp(&b.0));
    let grey = RGBColor(60, 60, 60).stroke_width(1);
    chart
        .draw_series(DashedLineSeries::new(target, 6, 4, grey))?
        .label("1.3 × floor: the target")
        .legend(move |(x, y)| {
            plotters::element::DashedPathElement::new([(x, y), (x + 20, y)], 4, 3, grey)
        });
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .unwrap_or_else(|| "target/criterion/mnist-step.csv".into());
    let output = args
        .next()
        .unwrap_or_else(|| "docs/images/mnist-step.svg".into());
    let medians = read(&input)?;
    {
        let root = SVGBackend::new(&output, (960, 400)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(480);
        panel(
            &left,
            &medians,
            "width",
            "784-H-10, batch 32",
            "hidden width H",
        )?;
        panel(&right, &medians, "batch", "784-128-10", "batch size B")?;
        root.present()?;
    }
    println!("wrote {output}");
    Ok(())
}
