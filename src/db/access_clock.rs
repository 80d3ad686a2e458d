//! The 24 bits every object keeps about its use (Redis's `robj.lru`), read two ways depending on
//! `maxmemory-policy`, as Redis's evict.c does:
//! - LRU policies (and no policy): the server's LRU clock (seconds, 24 bits) at the last access.
//! - LFU policies: the minute of the last decrement (16 bits) above a logarithmic access counter
//!   (8 bits) that grows with use and decays with time (`lfu-log-factor`, `lfu-decay-time`).
//!
//! Pure arithmetic: it owns no state and never touches the keyspace. The server decides when an
//! object is touched and which reading applies.

/// The counter a new object starts with, so it is not evicted before it had a chance to be used.
pub const LFU_INIT_VAL: u32 = 5;

/// The LRU clock wraps at 24 bits.
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

/// The LFU parameters in force (only under an LFU policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lfu {
    pub log_factor: u32,
    /// Minutes per decrement of the counter; 0 never decays.
    pub decay_time: u32,
}

/// How objects' clocks are read and updated right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessPolicy {
    #[default]
    Lru,
    Lfu(Lfu),
}

/// The LFU clock: unix minutes, 16 bits.
pub fn lfu_minutes(unix_secs: u64) -> u32 {
    ((unix_secs / 60) & 0xffff) as u32
}

/// Seconds since `lru` on the 24-bit LRU clock `clock`, wrapping as Redis's does.
pub fn lru_idle(lru: u32, clock: u32) -> u32 {
    if clock >= lru { clock - lru } else { clock + (LRU_CLOCK_MAX + 1) - lru }
}

/// An LRU clock value for an object idle `idle_secs` seconds at `clock`.
pub fn lru_from_idle(idle_secs: u64, clock: u32) -> u32 {
    let idle = (idle_secs % (u64::from(LRU_CLOCK_MAX) + 1)) as u32;
    if clock >= idle { clock - idle } else { clock + (LRU_CLOCK_MAX + 1) - idle }
}

/// An LFU value: `minutes` of the last decrement and the counter.
pub fn lfu_value(minutes: u32, counter: u8) -> u32 {
    ((minutes & 0xffff) << 8) | u32::from(counter)
}

/// The LFU counter after the decay due since its last decrement (Redis's LFUDecrAndReturn).
pub fn lfu_decayed(value: u32, minutes_now: u32, decay_time: u32) -> u8 {
    let last = value >> 8;
    let counter = (value & 0xff) as u8;
    if decay_time == 0 {
        return counter;
    }
    let elapsed = if minutes_now >= last { minutes_now - last } else { 0xffff - last + minutes_now };
    let periods = elapsed / decay_time;
    counter.saturating_sub(u8::try_from(periods).unwrap_or(u8::MAX))
}

/// One access: decay, then increment with probability 1/((counter-5)*log_factor+1) (Redis's
/// updateLFU with LFULogIncr). `random` is uniform in [0, 1).
pub fn lfu_touch(value: u32, minutes_now: u32, lfu: Lfu, random: f64) -> u32 {
    let mut counter = lfu_decayed(value, minutes_now, lfu.decay_time);
    if counter < u8::MAX {
        let base = f64::from(u32::from(counter).saturating_sub(LFU_INIT_VAL));
        let p = 1.0 / (base * f64::from(lfu.log_factor) + 1.0);
        if random < p {
            counter += 1;
        }
    }
    lfu_value(minutes_now, counter)
}

/// How evictable an object is under the policy: higher goes first (idle seconds for LRU,
/// 255 minus the decayed counter for LFU).
pub fn eviction_rank(value: u32, policy: AccessPolicy, lru_clock: u32, minutes_now: u32) -> u64 {
    match policy {
        AccessPolicy::Lru => u64::from(lru_idle(value, lru_clock)),
        AccessPolicy::Lfu(lfu) => 255 - u64::from(lfu_decayed(value, minutes_now, lfu.decay_time)),
    }
}

/// The clocks of this moment under the policy in force: what the server hands to every code path
/// that creates, touches, saves or ranks an object (refreshed by the cron and by CONFIG SET).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessClocks {
    pub policy: AccessPolicy,
    /// Unix seconds, 24 bits (INFO lru_clock).
    pub lru_clock: u32,
    /// Unix minutes, 16 bits.
    pub minutes: u32,
}

impl AccessClocks {
    pub fn at(unix_secs: u64, policy: AccessPolicy) -> Self {
        AccessClocks {
            policy,
            lru_clock: (unix_secs & u64::from(LRU_CLOCK_MAX)) as u32,
            minutes: lfu_minutes(unix_secs),
        }
    }

    /// What a new object starts with.
    pub fn fresh(&self) -> u32 {
        match self.policy {
            AccessPolicy::Lru => self.lru_clock,
            AccessPolicy::Lfu(_) => lfu_value(self.minutes, LFU_INIT_VAL as u8),
        }
    }

    /// The value after one access; `random` in [0, 1) is only read under LFU.
    pub fn touched(&self, value: u32, random: f64) -> u32 {
        match self.policy {
            AccessPolicy::Lru => self.lru_clock,
            AccessPolicy::Lfu(lfu) => lfu_touch(value, self.minutes, lfu, random),
        }
    }

    /// The value of an object restored with an idle time or a frequency (RESTORE IDLETIME/FREQ, the
    /// RDB's IDLE/FREQ records): each applies only under its own kind of policy, as Redis's
    /// objectSetLRUOrLFU; otherwise the object is new.
    pub fn restored(&self, idle_secs: Option<u64>, freq: Option<u8>) -> u32 {
        match (self.policy, idle_secs, freq) {
            (AccessPolicy::Lfu(_), _, Some(freq)) => lfu_value(self.minutes, freq),
            (AccessPolicy::Lru, Some(idle), _) => lru_from_idle(idle, self.lru_clock),
            _ => self.fresh(),
        }
    }

    /// Seconds idle (OBJECT IDLETIME, DEBUG OBJECT, the RDB's IDLE record): meaningful under LRU.
    pub fn idle_secs(&self, value: u32) -> u32 {
        lru_idle(value, self.lru_clock)
    }

    /// The decayed access counter (OBJECT FREQ, the RDB's FREQ record): meaningful under LFU.
    pub fn frequency(&self, value: u32) -> u8 {
        let decay = match self.policy {
            AccessPolicy::Lfu(lfu) => lfu.decay_time,
            AccessPolicy::Lru => 0,
        };
        lfu_decayed(value, self.minutes, decay)
    }

    /// How evictable an object is: higher goes first.
    pub fn eviction_rank(&self, value: u32) -> u64 {
        eviction_rank(value, self.policy, self.lru_clock, self.minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LFU: Lfu = Lfu { log_factor: 10, decay_time: 1 };

    #[test]
    fn lru_idle_wraps_at_24_bits() {
        assert_eq!(lru_idle(10, 15), 5);
        assert_eq!(lru_idle(LRU_CLOCK_MAX, 4), 5);
        assert_eq!(lru_from_idle(5, 4), LRU_CLOCK_MAX);
        assert_eq!(lru_idle(lru_from_idle(1234, 99), 99), 1234);
    }

    #[test]
    fn lfu_counter_decays_one_per_period() {
        let v = lfu_value(100, 20);
        assert_eq!(lfu_decayed(v, 100, 1), 20);
        assert_eq!(lfu_decayed(v, 103, 1), 17);
        assert_eq!(lfu_decayed(v, 103, 2), 19);
        assert_eq!(lfu_decayed(v, 500, 1), 0);
        assert_eq!(lfu_decayed(v, 500, 0), 20);
        // The minute clock wraps at 16 bits.
        assert_eq!(lfu_decayed(lfu_value(0xfffe, 20), 2, 1), 17);
    }

    #[test]
    fn lfu_touch_increments_new_objects_and_saturates() {
        let fresh = lfu_value(7, LFU_INIT_VAL as u8);
        // Below or at the initial value the increment is certain.
        assert_eq!(lfu_touch(fresh, 7, LFU, 0.999) & 0xff, LFU_INIT_VAL + 1);
        // Higher up it becomes unlikely: p = 1/(10*10+1).
        let warm = lfu_value(7, 15);
        assert_eq!(lfu_touch(warm, 7, LFU, 0.5) & 0xff, 15);
        assert_eq!(lfu_touch(warm, 7, LFU, 0.001) & 0xff, 16);
        assert_eq!(lfu_touch(lfu_value(7, 255), 7, LFU, 0.0) & 0xff, 255);
        // The touch records the current minute.
        assert_eq!(lfu_touch(warm, 9, LFU, 0.5) >> 8, 9);
    }

    #[test]
    fn restored_values_follow_the_policy() {
        let lru = AccessClocks::at(6000, AccessPolicy::Lru);
        assert_eq!(lru.idle_secs(lru.restored(Some(30), Some(9))), 30);
        assert_eq!(lru.restored(None, Some(9)), lru.fresh());
        let lfu = AccessClocks::at(6000, AccessPolicy::Lfu(LFU));
        assert_eq!(lfu.frequency(lfu.restored(Some(30), Some(100))), 100);
        assert_eq!(lfu.frequency(lfu.restored(Some(30), None)), LFU_INIT_VAL as u8);
    }

    #[test]
    fn eviction_prefers_idle_and_rarely_used() {
        assert!(eviction_rank(10, AccessPolicy::Lru, 100, 0) > eviction_rank(50, AccessPolicy::Lru, 100, 0));
        let policy = AccessPolicy::Lfu(LFU);
        assert!(eviction_rank(lfu_value(1, 3), policy, 0, 1) > eviction_rank(lfu_value(1, 30), policy, 0, 1));
    }
}
