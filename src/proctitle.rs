//! The process title (Redis's setproctitle): what `ps` and `/proc/<pid>/cmdline` show, from
//! `proc-title-template`. Linux keeps a process's arguments and environment in one contiguous area and
//! reports that area as its command line, so the title is written over the original argument strings,
//! after the environment strings that follow them have been moved to the heap.
//!
//! It owns that memory area and nothing else. It never runs before `main` beyond recording where the
//! arguments are, and does nothing when they cannot be found (another libc, or arguments that are not
//! laid out contiguously).

use std::ffi::{CStr, CString, c_char, c_int};
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

static ARGC: AtomicI32 = AtomicI32::new(0);
static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());

/// glibc calls `.init_array` functions with (argc, argv, envp), as Rust's own runtime relies on:
/// the only way to learn where the kernel put the argument strings.
#[used]
#[unsafe(link_section = ".init_array")]
static CAPTURE_ARGS: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = capture_args;

extern "C" fn capture_args(argc: c_int, argv: *mut *mut c_char, _envp: *mut *mut c_char) {
    ARGC.store(argc, Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
}

unsafe extern "C" {
    static mut environ: *mut *mut c_char;
}

/// The writable area (start, length) once prepared.
static AREA: std::sync::OnceLock<Option<(usize, usize)>> = std::sync::OnceLock::new();
/// argv[0] as the process was started, kept before the title overwrites it.
static ARGV0: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The command's argv[0] as started (Redis's `{title}` for the main process).
pub fn original_argv0() -> &'static str {
    ARGV0.get_or_init(|| std::env::args().next().unwrap_or_default())
}

/// Find the contiguous argument + environment area and move the environment out of it.
fn prepare() -> Option<(usize, usize)> {
    original_argv0();
    let argc = usize::try_from(ARGC.load(Ordering::Relaxed)).ok()?;
    let argv = ARGV.load(Ordering::Relaxed);
    if argv.is_null() || argc == 0 {
        return None;
    }
    // SAFETY: argv holds argc valid C strings, as the kernel and libc set them up before main; they
    // are only read here, and the environment array is only rewritten with pointers to leaked copies,
    // while the server is still single-threaded at startup.
    unsafe {
        let start = *argv;
        if start.is_null() {
            return None;
        }
        let mut end = start;
        for i in 0..argc {
            let arg = *argv.add(i);
            if arg != end {
                break;
            }
            end = arg.add(CStr::from_ptr(arg).to_bytes().len() + 1);
        }
        let env = environ;
        if !env.is_null() {
            let mut i = 0;
            while !(*env.add(i)).is_null() {
                let var = *env.add(i);
                let bytes = CStr::from_ptr(var).to_bytes();
                if var == end {
                    end = var.add(bytes.len() + 1);
                }
                // Every variable moves to the heap, so the area can be overwritten freely.
                if let Ok(copy) = CString::new(bytes) {
                    *env.add(i) = copy.into_raw();
                }
                i += 1;
            }
        }
        let len = end as usize - start as usize;
        (len > 1).then_some((start as usize, len))
    }
}

/// Show `title` as the process's command line (truncated to the space the original one had).
pub fn set(title: &str) {
    let Some((start, len)) = *AREA.get_or_init(prepare) else { return };
    let bytes = title.as_bytes();
    let n = bytes.len().min(len - 1);
    // SAFETY: [start, start + len) is the argument/environment area found by `prepare`, which no
    // longer holds anything else; the title is NUL-padded to its end.
    unsafe {
        let area = std::slice::from_raw_parts_mut(start as *mut u8, len);
        area[..n].copy_from_slice(&bytes[..n]);
        area[n..].fill(0);
    }
}
