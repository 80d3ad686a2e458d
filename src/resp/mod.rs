//! The Redis serialization protocol: `parse` turns client bytes into commands, `reply` encodes replies.

pub mod parse;
pub mod reply;
