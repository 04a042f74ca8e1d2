//! The float types our kernels are written for (f32 for training, f64 for gradient
//! checks), and access to candle's CPU storage as plain slices.

use candle_core::{CpuStorage, Layout, Result, WithDType};
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

pub trait Real:
    WithDType
    + Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + MulAssign
    + SubAssign
    + PartialOrd
    + Default
    + Send
    + Sync
{
    /// `√x`.
    fn sqrt(self) -> Self;
    const ZERO: Self;
    const ONE: Self;
    /// `1 / (1 + e^-x)`, vectorisable for f32.
    fn sigmoid(self) -> Self;
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    #[inline(always)]
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn sigmoid(self) -> f32 {
        1.0 / (1.0 + exp_f32(-self))
    }
}

/// e^x for f32 without a library call, so loops over it vectorise: Cephes'
/// range reduction `x = n·ln2 + r` and degree-6 polynomial, 2^n built from bits.
/// Relative error below 2e-7 over the clamped range.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // Adding 1.5·2^23 rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let exponent = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    e * f32::from_bits(((exponent + 127) << 23) as u32)
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    #[inline(always)]
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn sigmoid(self) -> f64 {
        1.0 / (1.0 + f64::exp(-self))
    }
}

/// The elements of a contiguous tensor's storage.
pub fn slice<'a, T: Real>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&storage.as_slice::<T>()?[start..end]),
        None => candle_core::bail!("{op}: expects contiguous inputs"),
    }
}

/// Defines a kernel `fn name<T: Real>(args) -> R { body }` compiled three times,
/// for AVX-512, for AVX2 with FMA and for the baseline, and chosen at run time.
/// The body is an `#[inline(always)]` function called from each
/// `#[target_feature]` wrapper, so it (and the `#[inline(always)]` helpers it
/// calls) is compiled with the wrapper's instructions. A closure handed to such a
/// wrapper would not be: LLVM declines to inline large closures, and measured
/// kernels then ran with SSE2 only.
macro_rules! kernel {
    ($(#[$meta:meta])* $vis:vis fn $name:ident<T: Real>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<T: Real>($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body<T: Real>($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            {
                #[cfg(feature = "avx512")]
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512<T: Real>($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2<T: Real>($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                #[cfg(feature = "avx512")]
                if $crate::ops::real::has_avx512() {
                    // SAFETY: the CPU has the features the function is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if $crate::ops::real::has_avx2() {
                    // SAFETY: as above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use kernel;

#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
pub fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw")
}

#[cfg(target_arch = "x86_64")]
pub fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// The instruction set our CPU kernels (and gemm's) run with on this machine and
/// build: what a speed figure was measured on.
pub fn cpu_kernels() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(feature = "avx512")]
        if has_avx512() {
            return "AVX-512";
        }
        if has_avx2() {
            return "AVX2";
        }
    }
    "baseline"
}

/// Dispatches a kernel on the storage's float type.
macro_rules! by_dtype {
    ($storage:expr, $op:literal, |$t:ident| $body:expr) => {
        match $storage {
            candle_core::CpuStorage::F32(_) => {
                type $t = f32;
                $body
            }
            candle_core::CpuStorage::F64(_) => {
                type $t = f64;
                $body
            }
            _ => candle_core::bail!("{}: only f32 and f64 are supported", $op),
        }
    };
}
pub(crate) use by_dtype;
