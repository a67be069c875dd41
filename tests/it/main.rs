//! The integration tests, one crate (each file in `tests/` would link separately).

mod allocation;
mod batch;
mod functions;
mod scalar;
mod files;
mod mnist;
mod nn;
mod tape;
mod tensor;
mod ui;
