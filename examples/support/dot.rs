//! A graph's DOT text (from `#[dot]`) as an SVG picture, laid out by layout-rs in pure Rust,
//! so drawing it needs no Graphviz. Reads the text `graph!` wrote; never changes what it says,
//! only how it looks: the direction, the fonts, the colours of parameters and output.
//!
//! Included as a module by the parts that draw a graph (`#[path = "support/dot.rs"]`).

use layout::backends::svg::SVGWriter;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;

/// How the picture looks.
pub struct Style {
    /// Top to bottom (narrow and tall, readable at README width) or left to right.
    pub top_to_bottom: bool,
    /// The font size of the nodes' labels, in pixels; the edges' are one sixth smaller.
    pub font_size: usize,
    /// The fill of the parameters' ellipses, of the data's (`#[no_grad]`, which DOT draws
    /// dashed and layout-rs does not) and of the output's box.
    pub parameter_fill: &'static str,
    pub data_fill: &'static str,
    pub output_fill: &'static str,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            top_to_bottom: true,
            font_size: 22,
            parameter_fill: "#d6eaf8",
            data_fill: "#e5e5e5",
            output_fill: "#fdebd0",
        }
    }
}

/// The DOT text with `style` applied: the direction, font sizes, the partial each edge's
/// number is (`∂u/∂v = …`), and fills for the parameters (the ellipses), the data (the dashed
/// ellipses) and the output (the node drawn with two outlines).
pub fn styled(dot: &str, style: &Style) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut fills: Vec<String> = Vec::new();
    for line in dot.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("rankdir=") {
            if !style.top_to_bottom {
                lines.push(line.to_string());
            }
            continue;
        }
        if let Some(line) = edge_with_partial_named(line) {
            lines.push(line);
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix('"')
            .and_then(|rest| rest.split('"').next())
        {
            if !trimmed.contains("->") {
                let fill = if trimmed.contains("peripheries=2") {
                    Some(style.output_fill)
                } else if trimmed.contains("shape=ellipse") && trimmed.contains("style=dashed") {
                    Some(style.data_fill)
                } else if trimmed.contains("shape=ellipse") {
                    Some(style.parameter_fill)
                } else {
                    None
                };
                if let Some(fill) = fill {
                    fills.push(format!(
                        "    \"{name}\" [style=filled, fillcolor=\"{fill}\"];"
                    ));
                }
            }
        }
        lines.push(line.to_string());
    }
    // Defaults go right after the opening line; fills before the closing brace, where a node
    // statement for a node already declared adds to its attributes.
    let close = lines
        .iter()
        .rposition(|l| l.trim() == "}")
        .unwrap_or(lines.len());
    lines.splice(close..close, fills);
    let edge_font = style.font_size * 5 / 6;
    lines.insert(
        1,
        format!(
            "    node [fontsize={}]; edge [fontsize={edge_font}];",
            style.font_size
        ),
    );
    lines.join("\n")
}

/// An edge `"v" -> "u" [label="0.5"]` as `"v" -> "u" [label="∂u/∂v = 0.5"]`, or `None` for
/// any other line.
fn edge_with_partial_named(line: &str) -> Option<String> {
    let (from, rest) = line.trim().strip_prefix('"')?.split_once('"')?;
    let (to, _) = rest
        .trim_start()
        .strip_prefix("->")?
        .trim_start()
        .strip_prefix('"')?
        .split_once('"')?;
    let start = line.find("label=\"")? + "label=\"".len();
    Some(format!(
        "{}∂{to}/∂{from} = {}",
        &line[..start],
        &line[start..]
    ))
}

/// Lays out `dot` and draws it as an SVG document.
///
/// # Errors
///
/// The parser's message if `dot` is not DOT that layout-rs reads.
pub fn to_svg(dot: &str, style: &Style) -> Result<String, String> {
    let text = styled(dot, style);
    let mut parser = layout::gv::DotParser::new(&text);
    let graph = parser.process()?;
    let mut builder = layout::gv::GraphBuilder::new();
    builder.visit_graph(&graph);
    let mut visual = builder.get();
    let mut canvas = Bounded::new();
    visual.do_it(false, false, false, &mut canvas);
    Ok(canvas.finish())
}

/// layout-rs's SVG writer, and the true extent of what was drawn: the writer's own grows its
/// canvas by ten pixels per character of every label, downwards, which leaves a picture mostly
/// empty.
struct Bounded {
    writer: SVGWriter,
    low: Point,
    high: Point,
}

impl Bounded {
    fn new() -> Bounded {
        Bounded {
            writer: SVGWriter::new(),
            low: Point::new(f64::MAX, f64::MAX),
            high: Point::new(f64::MIN, f64::MIN),
        }
    }

    fn include(&mut self, point: Point) {
        self.low = Point::new(self.low.x.min(point.x), self.low.y.min(point.y));
        self.high = Point::new(self.high.x.max(point.x), self.high.y.max(point.y));
    }

    /// The writer's SVG, with its size and view box set to what was drawn plus a margin, and a
    /// sans-serif font.
    fn finish(self) -> String {
        let svg = self.writer.finalize();
        let margin = 12.0;
        let (x, y) = (self.low.x - margin, self.low.y - margin);
        let (width, height) = (
            self.high.x - self.low.x + 2.0 * margin,
            self.high.y - self.low.y + 2.0 * margin,
        );
        let header = format!(
            "<svg width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"{x:.1} {y:.1} {width:.1} {height:.1}\" xmlns=\"http://www.w3.org/2000/svg\">"
        );
        let svg = sorted_styles(&svg);
        let body = match (
            svg.find("<svg "),
            svg.find("xmlns=\"http://www.w3.org/2000/svg\">"),
        ) {
            (Some(start), Some(end)) => {
                let end = end + "xmlns=\"http://www.w3.org/2000/svg\">".len();
                format!("{}{header}{}", &svg[..start], &svg[end..])
            }
            _ => svg,
        };
        // A white background, and the font of the other pictures.
        body.replacen(
            "<g >",
            &format!("<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{height:.1}\" fill=\"white\"/>\n<g >"),
            1,
        )
        .replace("font-family: Times, serif;", "font-family: Helvetica, Arial, sans-serif;")
        // SVG 1.1 does not inherit `dominant-baseline` from a `<text>` into its lines, and
        // some viewers follow it: say it on every line, so labels sit centred everywhere.
        .replace("<tspan ", "<tspan dominant-baseline=\"middle\" ")
    }
}

/// `svg` with the lines of its `<style>` block sorted: layout-rs writes them from a hash map,
/// in an order that changes from run to run, and the committed pictures should not.
fn sorted_styles(svg: &str) -> String {
    let (Some(start), Some(end)) = (svg.find("<style>\n"), svg.find("</style>")) else {
        return svg.to_string();
    };
    let start = start + "<style>\n".len();
    let mut lines: Vec<&str> = svg[start..end].lines().collect();
    lines.sort_unstable();
    format!("{}{}\n{}", &svg[..start], lines.join("\n"), &svg[end..])
}

impl RenderBackend for Bounded {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        clip: Option<ClipHandle>,
    ) {
        self.include(xy);
        self.include(Point::new(xy.x + size.x, xy.y + size.y));
        self.writer.draw_rect(xy, size, look, properties, clip);
    }

    fn draw_line(
        &mut self,
        start: Point,
        stop: Point,
        look: &StyleAttr,
        properties: Option<String>,
    ) {
        self.include(start);
        self.include(stop);
        self.writer.draw_line(start, stop, look, properties);
    }

    fn draw_circle(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
    ) {
        // `xy` is the centre and `size` the full width and height.
        self.include(Point::new(xy.x - size.x / 2.0, xy.y - size.y / 2.0));
        self.include(Point::new(xy.x + size.x / 2.0, xy.y + size.y / 2.0));
        self.writer.draw_circle(xy, size, look, properties);
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        // Centred on `xy`: half a line per line above and below, and about 0.6 of the font
        // size per character either side.
        let lines = text.lines().count().max(1) as f64;
        let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
        let size = look.font_size as f64;
        self.include(Point::new(
            xy.x - 0.3 * size * longest,
            xy.y - 0.6 * size * lines,
        ));
        self.include(Point::new(
            xy.x + 0.3 * size * longest,
            xy.y + 0.6 * size * lines,
        ));
        // layout-rs places a label's lines about a third of a line above the centre of its
        // box; put them back in the middle.
        let centred = Point::new(xy.x, xy.y + 0.3 * size);
        self.writer.draw_text(centred, text, look);
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        properties: Option<String>,
        text: &str,
    ) {
        for (point, control) in path {
            self.include(*point);
            self.include(*control);
        }
        self.writer
            .draw_arrow(path, dashed, head, look, properties, text);
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded_px: usize) -> ClipHandle {
        self.writer.create_clip(xy, size, rounded_px)
    }
}
