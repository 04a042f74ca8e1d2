//! Process settings that make CPU training fast. Call [`tune_for_training`] once at
//! start-up, before any tensor work.
//!
//! - **Keep freed activation memory.** A training step allocates and frees the same
//!   few hundred activation buffers every step. glibc's malloc serves blocks above
//!   128 KiB with fresh `mmap`s and returns them on free, so every step page-faults
//!   and zeroes every activation again: a quarter of a V2-S step, measured with
//!   perf. Raising the mmap threshold to its maximum (32 MiB) and never trimming
//!   the heap lets freed buffers be reused.
//! - **Do not spin in candle's thread pool.** candle runs its element-wise ops on a
//!   pool of its own whose idle workers spin 25,000 times before parking; beside
//!   our rayon workers on few cores, that spinning took 12% of a V2-S step. A
//!   limit of 0 parks them at once. A value the user set is kept.

/// Applies the settings above; does nothing on platforms they do not concern.
pub fn tune_for_training() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; failures leave the
    // defaults in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
    const SPIN: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(SPIN).is_none() {
        // SAFETY: called at start-up, before this process starts other threads
        // that could read the environment concurrently.
        unsafe { std::env::set_var(SPIN, "0") };
    }
}
