//! STUB: replaced by the list family (quicklist encodings).

use crate::digest::ValueDigest;

#[derive(Debug, Clone, Default)]
pub struct ListValue {}

impl ListValue {
    pub fn encoding(&self) -> &'static str {
        "quicklist"
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
}
