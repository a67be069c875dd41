//! The integration tests, one crate (each file in `tests/` would link separately).

mod allocation;
mod functions;
mod scalar;
mod tensor;
mod ui;
