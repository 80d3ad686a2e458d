//! The process allocator: jemalloc, as Redis uses, behind a thin layer that keeps `used_memory`.
//!
//! Why jemalloc: per-key memory is decided by allocation size classes. A small hash's 157-byte
//! listpack takes a 160-byte jemalloc region but a 176-byte glibc chunk, and a 64-byte table entry
//! a 64-byte region but an 80-byte chunk; Redis's own figures are jemalloc's, so matching them
//! needs the same allocator.
//!
//! This module owns the `#[global_allocator]` and the byte count behind INFO `used_memory` (what
//! the program holds, counted at every allocation, so maxmemory checks per command cost one load).
//! The allocation hooks never allocate and never take a lock: the counter is one relaxed atomic.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::{CStr, c_char, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

use tikv_jemallocator::Jemalloc;

/// jemalloc with a running total of the bytes handed out.
pub struct CountingJemalloc;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// Fuzz builds (cargo-fuzz sets `--cfg fuzzing`) keep the system allocator, which AddressSanitizer
// intercepts: under jemalloc a heap overflow would go unseen. used_memory then reads 0.
#[cfg(not(fuzzing))]
#[global_allocator]
static GLOBAL: CountingJemalloc = CountingJemalloc;

// SAFETY: every call is forwarded unchanged to jemalloc's GlobalAlloc; the counter only observes.
unsafe impl GlobalAlloc for CountingJemalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { Jemalloc.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { Jemalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { Jemalloc.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { Jemalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                ALLOCATED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                ALLOCATED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Bytes the program holds right now (INFO `used_memory`, the maxmemory check).
pub fn used_memory() -> u64 {
    ALLOCATED.load(Ordering::Relaxed) as u64
}

/// jemalloc's own view, for INFO's allocator_* fields and MEMORY STATS.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocatorStats {
    /// Bytes in regions handed out (size classes, so a little above `used_memory`).
    pub allocated: u64,
    /// Bytes in pages holding at least one region.
    pub active: u64,
    /// Bytes of the allocator's pages that are resident.
    pub resident: u64,
}

/// A fresh snapshot of jemalloc's statistics (it refreshes them on request: not for hot paths).
pub fn stats() -> AllocatorStats {
    let mut epoch: u64 = 1;
    // SAFETY: "epoch" takes a u64 to write; jemalloc copies it and returns.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"epoch".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&raw mut epoch).cast::<c_void>(),
            size_of::<u64>(),
        );
    }
    AllocatorStats {
        allocated: read_size(c"stats.allocated"),
        active: read_size(c"stats.active"),
        resident: read_size(c"stats.resident"),
    }
}

fn read_size(name: &CStr) -> u64 {
    let mut value: usize = 0;
    let mut len = size_of::<usize>();
    // SAFETY: the named statistics are size_t; jemalloc writes at most `len` bytes into `value`.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(name.as_ptr(), (&raw mut value).cast::<c_void>(), &mut len, std::ptr::null_mut(), 0)
    };
    if rc == 0 { value as u64 } else { 0 }
}

/// Returns the pages of freed memory to the OS now instead of on jemalloc's decay schedule, and
/// empties this thread's cache (MEMORY PURGE, Redis's jemalloc_purge).
pub fn purge() {
    // "arena.4096": MALLCTL_ARENAS_ALL, every arena at once.
    for ctl in [&b"arena.4096.purge\0"[..], b"thread.tcache.flush\0"] {
        // SAFETY: both controls take no input and give no output; the names are NUL-terminated.
        unsafe {
            tikv_jemalloc_sys::mallctl(
                ctl.as_ptr().cast::<c_char>(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            );
        }
    }
}

/// jemalloc's statistics report (MEMORY MALLOC-STATS), as malloc_stats_print writes it.
pub fn stats_report() -> Vec<u8> {
    unsafe extern "C" fn append(out: *mut c_void, text: *const c_char) {
        if out.is_null() || text.is_null() {
            return;
        }
        // SAFETY: `out` is the Vec passed below, alive for the whole call; jemalloc passes
        // NUL-terminated text.
        unsafe { (*out.cast::<Vec<u8>>()).extend_from_slice(CStr::from_ptr(text).to_bytes()) };
    }
    let mut out = Vec::new();
    // SAFETY: the callback only appends to `out`, which outlives the call; no options string.
    unsafe { tikv_jemalloc_sys::malloc_stats_print(Some(append), (&raw mut out).cast::<c_void>(), std::ptr::null()) };
    out
}

/// INFO `mem_allocator`, e.g. "jemalloc-5.3.0" as Redis prints it.
pub fn name() -> String {
    let mut version: *const c_char = std::ptr::null();
    let mut len = size_of::<*const c_char>();
    // SAFETY: "version" yields a pointer to a static NUL-terminated string owned by jemalloc.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"version".as_ptr(),
            (&raw mut version).cast::<c_void>(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 || version.is_null() {
        return "jemalloc".to_string();
    }
    // SAFETY: non-null and static, as above.
    let full = unsafe { CStr::from_ptr(version) }.to_string_lossy();
    // "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c": Redis shows the part before the first '-'.
    format!("jemalloc-{}", full.split('-').next().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_memory_follows_allocations() {
        let before = used_memory();
        let block = vec![7u8; 1 << 20];
        let during = used_memory();
        drop(block);
        // Other test threads allocate too: compare with slack, never exactly.
        assert!(during >= before + (1 << 19), "{before} -> {during}");
        assert!(name().starts_with("jemalloc-5."), "{}", name());
        let s = stats();
        assert!(s.allocated > 0 && s.active >= s.allocated && s.resident >= s.active, "{s:?}");
        purge();
        let report = String::from_utf8_lossy(&stats_report()).into_owned();
        assert!(report.contains("jemalloc statistics"), "{}", &report[..report.len().min(200)]);
    }
}
