//! The integration tests, one crate (each file in `tests/` would link separately).

mod functions;
mod scalar;
mod ui;
