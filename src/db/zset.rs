//! STUB: replaced by the zset family (listpack / skiplist encodings).

use crate::digest::ValueDigest;

#[derive(Debug, Clone, Default)]
pub struct ZSetValue {}

impl ZSetValue {
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
    pub fn len(&self) -> usize {
        0
    }
    pub fn is_empty(&self) -> bool {
        true
    }
    pub fn heap_size(&self) -> usize {
        0
    }
    pub fn digest_into(&self, _d: &mut ValueDigest) {}
    pub fn members_by_score(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
}
