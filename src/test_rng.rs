//! A tiny deterministic generator for the randomized model tests: no dependency, and a failing run
//! replays exactly from its seed. Test-only; never used by the server.

/// Marsaglia's xorshift64. The seed must not be zero.
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    // Not an Iterator: it never ends, and `rng.next()` reading as a number keeps the tests short.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
