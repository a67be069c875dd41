//! Compile-fail tests: every malformed graph is a spanned compile error (`tests/ui/`).
