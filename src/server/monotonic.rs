//! The clock commands are timed with (Redis's monotonic.c): the CPU's time-stamp counter where it
//! ticks at a constant rate in every power state, else the OS monotonic clock.
//!
//! Every command reads it twice (INFO commandstats, latency histograms, SLOWLOG), so its cost is
//! paid per request: a TSC read is a few cycles where `clock_gettime` is a vDSO call (and, under
//! some hypervisors, a system call). Owns only the calibration; never used for wall-clock time.

use std::time::{Duration, Instant};

/// How long startup spends measuring the TSC rate against the OS clock.
#[cfg(target_arch = "x86_64")]
const CALIBRATION: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    /// Microseconds per TSC tick in 32.32 fixed point, when the TSC is used: a duration is then
    /// converted with one multiply and shift, no float conversion on the per-command path.
    #[cfg(target_arch = "x86_64")]
    us_per_tick_fixed: Option<u64>,
    origin: Instant,
}

impl MonotonicClock {
    /// The TSC when /proc/cpuinfo says it is invariant (`constant_tsc` and `nonstop_tsc`), calibrated
    /// here; the OS clock otherwise.
    pub fn new() -> Self {
        let origin = Instant::now();
        #[cfg(target_arch = "x86_64")]
        {
            let invariant = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|s| {
                s.lines().find(|l| l.starts_with("flags")).is_some_and(|l| {
                    let has = |flag: &str| l.split_whitespace().any(|f| f == flag);
                    has("constant_tsc") && has("nonstop_tsc")
                })
            });
            let us_per_tick_fixed = invariant.then(calibrate).flatten().map(|us| (us * 4_294_967_296.0) as u64);
            MonotonicClock { us_per_tick_fixed, origin }
        }
        #[cfg(not(target_arch = "x86_64"))]
        MonotonicClock { origin }
    }

    /// A reading of this clock in its own units; only [`MonotonicClock::us_between`] gives them
    /// meaning.
    #[inline]
    pub fn ticks(&self) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if self.us_per_tick_fixed.is_some() {
            return read_tsc();
        }
        self.origin.elapsed().as_nanos() as u64
    }

    /// Microseconds from `start` to `end` (two readings of [`MonotonicClock::ticks`]). Each reading
    /// is truncated to whole microseconds before subtracting, as Redis's readings are: a command
    /// shorter than a microsecond then counts 0 or 1 in proportion, and sums stay unbiased.
    #[inline]
    pub fn us_between(&self, start: u64, end: u64) -> u64 {
        self.whole_us(end).saturating_sub(self.whole_us(start))
    }

    #[inline]
    fn whole_us(&self, ticks: u64) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if let Some(fixed) = self.us_per_tick_fixed {
            return ((u128::from(ticks) * u128::from(fixed)) >> 32) as u64;
        }
        ticks / 1000
    }

    /// INFO's `monotonic_clock`, in Redis's wording.
    pub fn describe(&self) -> String {
        #[cfg(target_arch = "x86_64")]
        if let Some(fixed) = self.us_per_tick_fixed {
            return format!("X86 TSC @ {} ticks/us", (4_294_967_296.0 / fixed.max(1) as f64).round() as u64);
        }
        "POSIX clock_gettime".to_string()
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn read_tsc() -> u64 {
    // SAFETY: RDTSC exists on every x86_64 CPU and only reads the counter.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// Microseconds per tick, from the ticks counted while the OS clock advanced by CALIBRATION.
#[cfg(target_arch = "x86_64")]
fn calibrate() -> Option<f64> {
    let start = Instant::now();
    let t0 = read_tsc();
    let mut elapsed = start.elapsed();
    while elapsed < CALIBRATION {
        elapsed = start.elapsed();
    }
    let ticks = read_tsc().checked_sub(t0)?;
    // A counter slower than 1 MHz is not a TSC we can time microseconds with.
    (ticks as f64 >= elapsed.as_micros() as f64).then(|| elapsed.as_secs_f64() * 1e6 / ticks as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_sleep_within_a_few_percent() {
        let clock = MonotonicClock::new();
        let a = clock.ticks();
        std::thread::sleep(Duration::from_millis(50));
        let took = clock.us_between(a, clock.ticks());
        assert!((49_000..80_000).contains(&took), "{took} us for a 50 ms sleep ({})", clock.describe());
    }
}
