//! The replication backlog (Redis's repl_backlog): the last `repl-backlog-size` bytes of the
//! replication stream, so a replica that lost its link can continue from its offset (+CONTINUE)
//! instead of a full resync.
//!
//! A plain ring buffer over stream offsets. It only stores and copies bytes; it never talks to a
//! socket and never decides whether a partial resync is allowed (the master does).

/// Smallest backlog Redis accepts (CONFIG_REPL_BACKLOG_MIN_SIZE).
pub const MIN_SIZE: usize = 16 * 1024;

#[derive(Debug)]
pub struct ReplicationBacklog {
    ring: Vec<u8>,
    /// Next write position in `ring`.
    head: usize,
    /// Bytes of history held (≤ ring size).
    histlen: usize,
    /// Stream offset of the first byte held (Redis's repl_backlog_off).
    first_offset: u64,
}

impl ReplicationBacklog {
    /// A backlog whose history starts right after `master_offset`.
    pub fn new(size: usize, master_offset: u64) -> Self {
        ReplicationBacklog { ring: vec![0; size.max(MIN_SIZE)], head: 0, histlen: 0, first_offset: master_offset + 1 }
    }

    pub fn size(&self) -> usize {
        self.ring.len()
    }

    pub fn histlen(&self) -> usize {
        self.histlen
    }

    pub fn first_offset(&self) -> u64 {
        self.first_offset
    }

    /// Append stream bytes, dropping the oldest history beyond the size.
    pub fn feed(&mut self, mut data: &[u8]) {
        let size = self.ring.len();
        // Only the last `size` bytes of a huge write can be kept.
        if data.len() > size {
            let skip = data.len() - size;
            self.first_offset += (self.histlen + skip) as u64;
            self.histlen = 0;
            data = &data[skip..];
        }
        while !data.is_empty() {
            let n = (size - self.head).min(data.len());
            self.ring[self.head..self.head + n].copy_from_slice(&data[..n]);
            self.head = (self.head + n) % size;
            data = &data[n..];
            self.histlen += n;
            if self.histlen > size {
                self.first_offset += (self.histlen - size) as u64;
                self.histlen = size;
            }
        }
    }

    /// Whether the bytes from stream offset `offset` on are all still held.
    pub fn covers(&self, offset: u64) -> bool {
        offset >= self.first_offset && offset <= self.first_offset + self.histlen as u64
    }

    /// Copy the history from stream offset `offset` to the end into `out`. Returns the bytes copied,
    /// or None when that offset is no longer (or not yet) held.
    pub fn copy_from(&self, offset: u64, out: &mut Vec<u8>) -> Option<usize> {
        if !self.covers(offset) {
            return None;
        }
        let size = self.ring.len();
        let skip = (offset - self.first_offset) as usize;
        let len = self.histlen - skip;
        let start = (self.head + size - self.histlen + skip) % size;
        let first = (size - start).min(len);
        out.extend_from_slice(&self.ring[start..start + first]);
        out.extend_from_slice(&self.ring[..len - first]);
        Some(len)
    }

    /// CONFIG SET repl-backlog-size: keep what history fits.
    pub fn resize(&mut self, size: usize) {
        let size = size.max(MIN_SIZE);
        if size == self.ring.len() {
            return;
        }
        let mut history = Vec::with_capacity(self.histlen);
        let first = self.first_offset;
        self.copy_from(first, &mut history);
        let keep = history.len().min(size);
        let dropped = history.len() - keep;
        *self = ReplicationBacklog { ring: vec![0; size], head: 0, histlen: 0, first_offset: first + dropped as u64 };
        self.feed(&history[dropped..]);
        self.first_offset = first + dropped as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_size_bytes_and_serves_any_offset_in_them() {
        let mut b = ReplicationBacklog::new(MIN_SIZE, 100);
        assert_eq!(b.first_offset(), 101);
        let stream: Vec<u8> = (0..MIN_SIZE * 3 + 17).map(|i| (i % 251) as u8).collect();
        let mut fed = 0;
        for chunk in stream.chunks(1000) {
            b.feed(chunk);
            fed += chunk.len();
            let end = 100 + fed as u64;
            assert_eq!(b.first_offset() + b.histlen() as u64, end + 1);
        }
        assert_eq!(b.histlen(), MIN_SIZE);
        let first = b.first_offset();
        assert!(!b.covers(first - 1));
        for off in [first, first + 5, first + MIN_SIZE as u64] {
            let mut out = Vec::new();
            let n = b.copy_from(off, &mut out).unwrap();
            let from = (off - 101) as usize;
            assert_eq!(out, &stream[from..]);
            assert_eq!(n, out.len());
        }
        assert_eq!(b.copy_from(first + MIN_SIZE as u64 + 1, &mut Vec::new()), None);
    }

    #[test]
    fn a_write_larger_than_the_ring_keeps_its_tail() {
        let mut b = ReplicationBacklog::new(MIN_SIZE, 0);
        b.feed(b"abc");
        let big: Vec<u8> = (0..MIN_SIZE * 2).map(|i| i as u8).collect();
        b.feed(&big);
        assert_eq!(b.first_offset() + b.histlen() as u64, 3 + big.len() as u64 + 1);
        let mut out = Vec::new();
        b.copy_from(b.first_offset(), &mut out);
        assert_eq!(out, &big[big.len() - MIN_SIZE..]);
    }

    #[test]
    fn resize_keeps_the_newest_history() {
        let mut b = ReplicationBacklog::new(MIN_SIZE * 2, 0);
        let data: Vec<u8> = (0..MIN_SIZE * 2).map(|i| (i * 7) as u8).collect();
        b.feed(&data);
        b.resize(MIN_SIZE);
        let mut out = Vec::new();
        b.copy_from(b.first_offset(), &mut out);
        assert_eq!(out, &data[MIN_SIZE..]);
        assert_eq!(b.first_offset(), 1 + MIN_SIZE as u64);
    }
}
