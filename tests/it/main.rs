//! The integration tests, one crate (each file in `tests/` would link separately).

mod activations;
mod allocation;
mod batch;
mod batch_norm2d;
mod contract;
mod conv;
mod files;
mod functions;
mod hessian;
mod inspection;
mod kernels_into;
mod layers;
mod lecture;
mod mnist;
mod nesting;
mod nn;
mod picture;
mod pooling;
mod primitive;
mod scalar;
mod small_products;
mod tape;
mod tensor;
mod trainer;
mod ui;
mod winograd;
