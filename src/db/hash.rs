//! STUB: replaced by the hash family (listpack / hashtable encodings).

use crate::digest::ValueDigest;

#[derive(Debug, Clone, Default)]
pub struct HashValue {}

impl HashValue {
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
    pub fn get(&self, _field: &[u8]) -> Option<Vec<u8>> {
        None
    }
}
