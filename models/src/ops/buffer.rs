//! Output buffers that a kernel writes whole.

use super::real::Real;

/// A vector of `len` values without the zero-fill, for outputs that a kernel or a
/// matrix product overwrites entirely. `vec![0.0; len]` goes through calloc, which
/// must clear whatever memory the allocator reuses: 4% of an EfficientNetV2-S
/// training step went into clearing buffers that were overwritten right after.
/// Builds with debug assertions fill it with NaN instead, so that a test of a
/// kernel that leaves an element unwritten sees NaN, not a stale value.
///
/// # Safety
/// Every element must be written before any is read: through the slice, or by
/// gemm through the raw pointer with its destination not read.
#[allow(clippy::uninit_vec)]
pub(super) unsafe fn unfilled<T: Real>(len: usize) -> Vec<T> {
    if cfg!(debug_assertions) {
        return vec![T::from_f64(f64::NAN); len];
    }
    let mut v = Vec::with_capacity(len);
    // SAFETY: the capacity is reserved, and the caller writes every element
    // before reading it.
    unsafe { v.set_len(len) };
    v
}
