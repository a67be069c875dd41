//! The progress bar: indicatif on stderr, shown only to a person watching. Decides whether to
//! draw and what the line says; never changes training.

use std::borrow::Cow;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// When [`Trainer::fit`](super::Trainer::fit) draws its progress bar (steps done, steps per
/// second, epoch, loss, learning rate) on stderr.
///
/// ```
/// use chainrule::train::ShowProgress;
/// assert_eq!(ShowProgress::default(), ShowProgress::Auto);
/// assert!(!ShowProgress::Never.resolves_to_visible());
/// // Off the main thread, as every `cargo test` test runs, `Auto` draws nothing.
/// let auto = std::thread::spawn(|| ShowProgress::Auto.resolves_to_visible());
/// assert!(!auto.join().unwrap());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShowProgress {
    /// When stderr is a terminal and training runs on the program's main thread. `cargo test`
    /// runs each test on a thread named after it, so tests stay silent, as do programs whose
    /// stderr goes to a file or a pipe.
    #[default]
    Auto,
    /// Whenever stderr is a terminal, on any thread.
    Always,
    /// Never.
    Never,
}

impl ShowProgress {
    /// Whether a bar would be drawn now, on this thread.
    ///
    /// ```
    /// use chainrule::train::ShowProgress;
    /// assert!(!ShowProgress::Never.resolves_to_visible());
    /// ```
    pub fn resolves_to_visible(self) -> bool {
        let terminal = std::io::stderr().is_terminal();
        match self {
            ShowProgress::Never => false,
            ShowProgress::Always => terminal,
            ShowProgress::Auto => terminal && std::thread::current().name() == Some("main"),
        }
    }
}

/// A bar over `total` steps, already at `position`, or `None` if nothing is to be drawn.
pub(crate) fn bar(mode: ShowProgress, total: u64, position: u64) -> Option<ProgressBar> {
    if !mode.resolves_to_visible() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        // `wide_msg` is cut to the terminal's width, so the line never wraps (a wrapped bar
        // redraws badly).
        "{elapsed} [{bar:20}] {pos}/{len} steps ({per_sec}, eta {eta}) {wide_msg}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_position(position);
    bar.reset_eta();
    Some(bar)
}

/// Sets the bar's message, if there is a bar.
pub(crate) fn say(bar: Option<&ProgressBar>, message: impl FnOnce() -> Cow<'static, str>) {
    if let Some(bar) = bar {
        bar.set_message(message());
    }
}
