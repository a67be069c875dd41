//! The floor the convolutional networks' steps are measured against: one `gemm` call per
//! matrix product, on one thread, into memory allocated once.

/// `c = a·b`, column-major, every operand contiguous, of sizes `(rows, columns, depth)`.
pub fn product(c: &mut [f32], a: &[f32], b: &[f32], (rows, columns, depth): (usize, usize, usize)) {
    assert!(c.len() >= rows * columns && a.len() >= rows * depth && b.len() >= depth * columns);
    // SAFETY: the assertion keeps every stride inside its slice.
    unsafe {
        gemm::gemm(
            rows,
            columns,
            depth,
            c.as_mut_ptr(),
            rows as isize,
            1,
            false,
            a.as_ptr(),
            rows as isize,
            1,
            b.as_ptr(),
            depth as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
