//! Per-command latency histograms for INFO latencystats, with HdrHistogram's bucket layout at two
//! significant figures (what Redis 7.0 records with), so reported percentiles land on the same
//! bucket boundaries Redis reports.
//!
//! Values are nanoseconds in [1, 1e9]; recording is O(1) and never allocates after creation.

/// Sub-buckets per bucket half: 2 significant figures need 256 sub-buckets (2^8), half of which repeat.
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 7;
const SUB_BUCKET_HALF: u64 = 1 << SUB_BUCKET_HALF_MAGNITUDE;
const SUB_BUCKET_COUNT: u64 = SUB_BUCKET_HALF * 2;
const SUB_BUCKET_MASK: u64 = SUB_BUCKET_COUNT - 1;
/// Redis's LATENCY_HISTOGRAM_MIN_VALUE / MAX_VALUE (nanoseconds).
const MIN_VALUE: u64 = 1;
const MAX_VALUE: u64 = 1_000_000_000;

/// A fixed-precision histogram of latencies.
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
}

fn bucket_index(v: u64) -> u32 {
    64 - (v | SUB_BUCKET_MASK).leading_zeros() - (SUB_BUCKET_HALF_MAGNITUDE + 1)
}

fn counts_index(v: u64) -> usize {
    let b = bucket_index(v);
    let sub = v >> b;
    // Below the first bucket's half, `sub - SUB_BUCKET_HALF` is negative (HdrHistogram's signed
    // arithmetic): wrapping gives the same index without tripping debug overflow checks.
    ((b as u64 + 1) << SUB_BUCKET_HALF_MAGNITUDE).wrapping_add(sub.wrapping_sub(SUB_BUCKET_HALF)) as usize
}

fn value_from_index(i: usize) -> u64 {
    let mut bucket = (i as i64 >> SUB_BUCKET_HALF_MAGNITUDE) - 1;
    let mut sub = (i as u64 & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;
    if bucket < 0 {
        sub -= SUB_BUCKET_HALF;
        bucket = 0;
    }
    sub << bucket
}

/// The largest value that falls in the same bucket as `v`.
fn highest_equivalent(v: u64) -> u64 {
    let b = bucket_index(v);
    let sub = v >> b;
    let adjusted = if sub >= SUB_BUCKET_COUNT { b + 1 } else { b };
    let lowest = sub << b;
    lowest + (1u64 << adjusted) - 1
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        LatencyHistogram { counts: vec![0; counts_index(MAX_VALUE) + 1], total: 0 }
    }

    /// Record one latency in nanoseconds (clamped into the tracked range).
    pub fn record(&mut self, ns: u64) {
        let v = ns.clamp(MIN_VALUE, MAX_VALUE);
        if let Some(c) = self.counts.get_mut(counts_index(v)) {
            *c += 1;
            self.total += 1;
        }
    }

    /// The value at `percentile` (0..=100), as hdr_value_at_percentile reports it.
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let p = percentile.clamp(0.0, 100.0);
        let wanted = (((p / 100.0) * self.total as f64) + 0.5) as u64;
        let wanted = wanted.max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= wanted {
                return highest_equivalent(value_from_index(i));
            }
        }
        0
    }
}

/// A percentile's label the way Redis prints it: `%f`, then trailing zeros and dot trimmed.
pub fn percentile_label(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_land_on_bucket_edges() {
        let mut h = LatencyHistogram::new();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.value_at_percentile(50.0), 50);
        assert_eq!(h.value_at_percentile(100.0), 100);
        let mut h = LatencyHistogram::new();
        h.record(50_000_000);
        let v = h.value_at_percentile(50.0);
        assert!((50_000_000..50_000_000 / 100 * 101).contains(&v), "{v}");
        assert_eq!(percentile_label(99.9), "99.9");
        assert_eq!(percentile_label(50.0), "50");
    }
}
