//! The integration tests, one crate (each file in `tests/` would link separately).

mod allocation;
mod batch;
mod functions;
mod hessian;
mod inspection;
mod lecture;
mod scalar;
mod files;
mod mnist;
mod nesting;
mod nn;
mod picture;
mod primitive;
mod tape;
mod tensor;
mod ui;
