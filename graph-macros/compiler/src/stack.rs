//! Stack growth for the stages that recurse over the syntax tree (parsing, lowering, and
//! printing expressions), so that a deeply nested expression compiles instead of overflowing
//! the stack of rustc's thread. Like rustc's own `ensure_sufficient_stack`, on `stacker`.

/// Below this much free stack, a recursive step moves to a new segment. A step of the parser
/// (through syn's `ParseBuffer`s, unoptimised as proc macros are by default) takes a few
/// kilobytes, so this leaves room for several.
const RED_ZONE: usize = 256 * 1024;

/// The size of each new segment: thousands of levels before the next one is needed.
const SEGMENT: usize = 4 * 1024 * 1024;

/// Runs `f`, on a fresh stack segment if the current one is nearly full. Cheap when it is not:
/// one comparison of the stack pointer.
#[inline]
pub fn ensure_sufficient_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}
