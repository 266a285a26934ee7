//! Software prefetch: ask the CPU to bring a value's cache lines in ahead of its use.
//!
//! A large run visits its entities (clients, servers, VMs) in an order no hardware prefetcher
//! can guess, so each visit waits for a miss to memory. Where the code knows the next entity
//! before it needs it (the next event's client, the VMs of the node about to be rebalanced), a
//! prefetch lets that miss overlap the work in between. A hint only: it changes no result.

/// Prefetches every cache line of `value` into all cache levels.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = (value as *const T).cast::<i8>();
        let lines = std::mem::size_of::<T>().div_ceil(64).max(1);
        for line in 0..lines {
            // SAFETY: a prefetch never faults and loads nothing into the program's state; the
            // addresses are those of `value`'s own bytes (or, for its last partial line, of the
            // cache line they end in), computed with wrapping arithmetic.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(line * 64)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
