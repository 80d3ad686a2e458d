//! STUB: replaced by the set family (intset / hashtable encodings).

use crate::digest::ValueDigest;

#[derive(Debug, Clone, Default)]
pub struct SetValue {}

impl SetValue {
    pub fn encoding(&self) -> &'static str {
        "intset"
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
    pub fn members(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
}
