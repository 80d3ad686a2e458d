//! The replication backlog, which is also every replica's output buffer for the stream (Redis 7's
//! shared replication buffer): the stream is stored once, in blocks, and each replica only holds the
//! offset of the next byte it must be sent. The backlog keeps at least `repl-backlog-size` bytes of
//! history so a replica that lost its link can continue from its offset (+CONTINUE), and more while
//! a replica still has to be sent older blocks, so N replicas never cost N copies.
//!
//! It only stores bytes and answers where offsets are; it never talks to a socket and never decides
//! whether a partial resync is allowed (the master does).
//!
//! Offsets are Redis's: the first byte of the stream is offset 1, and `end_offset()` is the offset
//! the next byte fed will have.

use std::collections::VecDeque;

/// Smallest backlog Redis accepts (CONFIG_REPL_BACKLOG_MIN_SIZE).
pub const MIN_SIZE: usize = 16 * 1024;
/// Smallest block allocated (PROTO_REPLY_CHUNK_BYTES): small writes share a block.
const MIN_BLOCK: usize = 16 * 1024;
/// Per-block bookkeeping counted in the memory figure, as Redis counts its list node and header.
const BLOCK_OVERHEAD: usize = 64;

#[derive(Debug)]
struct Block {
    /// Offset of the block's first byte.
    offset: u64,
    /// Filled up to its capacity, which is fixed when the block is made.
    data: Vec<u8>,
}

impl Block {
    fn end(&self) -> u64 {
        self.offset + self.data.len() as u64
    }
}

#[derive(Debug)]
pub struct ReplicationBacklog {
    blocks: VecDeque<Block>,
    /// Offset the next byte fed gets.
    end: u64,
    /// Bytes allocated for blocks, with their overhead (INFO mem_total_replication_buffers).
    mem: usize,
}

impl ReplicationBacklog {
    /// An empty backlog whose history starts right after `master_offset`.
    pub fn new(master_offset: u64) -> Self {
        ReplicationBacklog { blocks: VecDeque::new(), end: master_offset + 1, mem: 0 }
    }

    /// Offset of the first byte held (repl_backlog_first_byte_offset).
    pub fn first_offset(&self) -> u64 {
        self.blocks.front().map_or(self.end, |b| b.offset)
    }

    /// Bytes of history held (repl_backlog_histlen).
    pub fn histlen(&self) -> u64 {
        self.end - self.first_offset()
    }

    /// Offset the next byte fed will have.
    pub fn end_offset(&self) -> u64 {
        self.end
    }

    /// Memory held by the blocks.
    pub fn mem(&self) -> usize {
        self.mem
    }

    /// Append stream bytes. Blocks are at least 16 KiB and at most a sixteenth of `size` (or 16 KiB),
    /// so one huge write does not make one block that must be kept whole for a byte of it. Returns
    /// whether a block was added (when Redis checks output buffer limits and trims).
    pub fn feed(&mut self, mut data: &[u8], size: usize) -> bool {
        let mut added = false;
        while !data.is_empty() {
            if let Some(tail) = self.blocks.back_mut() {
                let room = tail.data.capacity() - tail.data.len();
                if room > 0 {
                    let n = room.min(data.len());
                    tail.data.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    self.end += n as u64;
                    continue;
                }
            }
            let limit = (size / 16).max(MIN_BLOCK);
            let cap = data.len().clamp(MIN_BLOCK, limit);
            self.blocks.push_back(Block { offset: self.end, data: Vec::with_capacity(cap) });
            self.mem += cap + BLOCK_OVERHEAD;
            added = true;
        }
        added
    }

    /// Drop the oldest blocks while the history stays above `size` without them and no replica
    /// still has to be sent from them (`oldest_needed`: the smallest next offset of a replica).
    /// The newest block is always kept.
    pub fn trim(&mut self, size: usize, oldest_needed: Option<u64>) {
        while self.blocks.len() > 1 {
            let Some(first) = self.blocks.front() else { break };
            if oldest_needed.is_some_and(|o| o < first.end()) {
                break;
            }
            if self.histlen() - (first.data.len() as u64) <= size as u64 {
                break;
            }
            if let Some(b) = self.blocks.pop_front() {
                self.mem -= b.data.capacity() + BLOCK_OVERHEAD;
            }
        }
    }

    /// Shift every offset by `delta`: a master restarted from an RDB continues the saved history
    /// after what it fed while loading.
    pub fn rebase(&mut self, delta: u64) {
        for b in &mut self.blocks {
            b.offset += delta;
        }
        self.end += delta;
    }

    /// Whether the stream from `offset` on is all held: a replica asking for it can continue.
    pub fn covers(&self, offset: u64) -> bool {
        offset >= self.first_offset() && offset <= self.end
    }

    /// The bytes held from `offset` to the end of its block (empty at the end of the stream or
    /// outside the history). A writer sends them and asks again from where it got to.
    pub fn chunk_at(&self, offset: u64) -> &[u8] {
        if !self.covers(offset) || offset == self.end {
            return &[];
        }
        let i = self.blocks.partition_point(|b| b.end() <= offset);
        match self.blocks.get(i) {
            Some(b) => &b.data[(offset - b.offset) as usize..],
            None => &[],
        }
    }

    /// Output-buffer usage of a replica whose next byte is `offset`, as Redis counts it: from the
    /// start of the block holding it to the end of the last block.
    pub fn usage_from(&self, offset: u64) -> usize {
        let i = self.blocks.partition_point(|b| b.end() <= offset);
        let Some(from) = self.blocks.get(i) else { return 0 };
        let blocks = self.blocks.len() - i;
        let last_cap = self.blocks.back().map_or(0, |b| b.data.capacity());
        let last_start = self.blocks.back().map_or(0, |b| b.offset);
        (last_start + last_cap as u64 - from.offset) as usize + blocks * BLOCK_OVERHEAD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(b: &ReplicationBacklog, mut from: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let chunk = b.chunk_at(from);
            if chunk.is_empty() {
                return out;
            }
            out.extend_from_slice(chunk);
            from += chunk.len() as u64;
        }
    }

    #[test]
    fn serves_any_offset_it_holds_and_trims_to_the_size() {
        let mut b = ReplicationBacklog::new(100);
        assert_eq!(b.first_offset(), 101);
        let stream: Vec<u8> = (0..MIN_SIZE * 5 + 17).map(|i| (i % 251) as u8).collect();
        for chunk in stream.chunks(1000) {
            b.feed(chunk, MIN_SIZE);
            b.trim(MIN_SIZE, None);
            assert_eq!(b.end_offset(), b.first_offset() + b.histlen());
        }
        assert_eq!(b.end_offset(), 101 + stream.len() as u64);
        // At least the size is kept, and at most a block more.
        assert!(b.histlen() >= MIN_SIZE as u64 && b.histlen() <= (MIN_SIZE + MIN_BLOCK) as u64);
        let first = b.first_offset();
        assert!(!b.covers(first - 1));
        for off in [first, first + 5, b.end_offset() - 1, b.end_offset()] {
            assert_eq!(read_all(&b, off), &stream[(off - 101) as usize..]);
        }
        assert!(b.chunk_at(b.end_offset() + 1).is_empty());
    }

    #[test]
    fn a_replica_behind_keeps_the_history_it_needs() {
        let mut b = ReplicationBacklog::new(0);
        let data = vec![7u8; MIN_SIZE * 10];
        b.feed(&data, MIN_SIZE);
        b.trim(MIN_SIZE, Some(1));
        assert_eq!(b.histlen(), data.len() as u64);
        assert_eq!(read_all(&b, 1).len(), data.len());
        // Once it caught up, the history shrinks back towards the size.
        b.trim(MIN_SIZE, Some(b.end_offset()));
        assert!(b.histlen() <= 2 * MIN_SIZE as u64);
        assert!(b.mem() < 3 * (MIN_SIZE + BLOCK_OVERHEAD));
    }

    #[test]
    fn big_writes_are_split_into_bounded_blocks() {
        let mut b = ReplicationBacklog::new(0);
        b.feed(&vec![1u8; 1 << 20], MIN_SIZE);
        // A replica at the end holds at most one block.
        assert!(b.usage_from(b.end_offset() - 1) <= MIN_BLOCK + BLOCK_OVERHEAD);
        let mut big = ReplicationBacklog::new(0);
        big.feed(&vec![1u8; 1 << 20], 16 << 20);
        assert_eq!(big.histlen(), 1 << 20);
        assert_eq!(big.blocks.len(), 1);
    }
}
