//! The keyspace: numbered databases, each a `Dict` of objects plus an index of the keys that carry an
//! expiry (sampled by the active-expire cycle) and the WATCHed keys of transactions.
//!
//! `Db` only stores; it never decides policy. Whether an expired key is deleted (a master) or merely
//! hidden (a replica), what gets propagated and which events fire is the server's job
//! (`server::keyspace`), so that every command path does it the same way.

pub mod access_clock;
pub mod bytes;
pub mod dict;
pub mod hash;
pub mod hyperloglog;
pub mod intset;
pub mod list;
pub mod listpack;
pub mod set;
pub mod sorted_set;
pub mod stream;
pub mod value;
pub mod zset;

use std::collections::HashMap;

pub use bytes::CompactBytes;
pub use dict::{Dict, Key};
pub use value::{NO_EXPIRE, Object, RawMut, StrValue, Value};

/// A client's WATCH on one key.
#[derive(Debug, Clone, Copy)]
pub struct Watcher {
    pub client: u64,
    /// The key was already expired when watched: its deletion alone does not fail EXEC.
    pub expired: bool,
}

/// One logical database (SELECT n).
#[derive(Default)]
pub struct Db {
    pub id: usize,
    pub dict: Dict<Object>,
    /// Keys with an expiry → their deadline in unix ms (a separate table, as in Redis, so keys without
    /// a TTL pay nothing for it).
    pub expires: Dict<i64>,
    /// WATCHed key → the clients watching it.
    pub watched: HashMap<Key, Vec<Watcher>>,
    /// Where the active-expire cycle resumes scanning `expires`.
    pub expire_cursor: u64,
    /// Running average TTL of sampled keys (INFO keyspace avg_ttl).
    pub avg_ttl: i64,
}

impl Db {
    pub fn new(id: usize) -> Self {
        Db { id, ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    pub fn get(&self, key: &[u8]) -> Option<&Object> {
        self.dict.get(key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Object> {
        self.dict.get_mut(key)
    }

    /// Expiry deadline of `key` in unix ms, or `NO_EXPIRE`.
    pub fn expire_of(&self, key: &[u8]) -> i64 {
        if self.expires.is_empty() {
            return NO_EXPIRE;
        }
        self.expires.get(key).copied().unwrap_or(NO_EXPIRE)
    }

    pub fn has_expire(&self, key: &[u8]) -> bool {
        self.expire_of(key) != NO_EXPIRE
    }

    /// Drop a key's expiry entry, if any (a no-op lookup-free when no key has a TTL).
    fn forget_expire(expires: &mut Dict<i64>, key: &[u8]) -> Option<i64> {
        if expires.is_empty() { None } else { expires.remove(key).map(|(_, when)| when) }
    }

    /// Store `value` at `key`: a new key, or an overwrite that drops the old expiry unless `keep_ttl`.
    /// Returns true when the key is new (the caller reports the creation).
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool, lru: u32) -> bool {
        self.set_if(key, value, keep_ttl, lru, false, false) == Some(true)
    }

    /// SET's store with its NX/XX condition decided by the same lookup (one hash on overwrite, the
    /// hot path). Returns None when the condition refused the write, else whether the key is new.
    pub fn set_if(&mut self, key: &[u8], value: Value, keep_ttl: bool, lru: u32, nx: bool, xx: bool) -> Option<bool> {
        let Db { dict, expires, .. } = self;
        match dict.get_mut(key) {
            Some(_) if nx => None,
            Some(obj) => {
                obj.value = value;
                obj.lru = lru;
                if !keep_ttl {
                    Self::forget_expire(expires, key);
                }
                Some(false)
            }
            None if xx => None,
            None => {
                dict.insert_new(key.into(), Object::new(value, lru));
                Some(true)
            }
        }
    }

    /// Insert an object with its expiry (`NO_EXPIRE` for none) under a key known to be absent.
    pub fn add_object(&mut self, key: &[u8], obj: Object, expire_at: i64) {
        if expire_at != NO_EXPIRE {
            self.expires.insert(key.into(), expire_at);
        }
        self.dict.insert_new(key.into(), obj);
    }

    /// Remove a key; returns its object and its expiry (`NO_EXPIRE` for none).
    pub fn remove(&mut self, key: &[u8]) -> Option<(Object, i64)> {
        let (_, obj) = self.dict.remove(key)?;
        let when = Self::forget_expire(&mut self.expires, key).unwrap_or(NO_EXPIRE);
        Some((obj, when))
    }

    /// Set the expiry of an existing key; false when the key is missing.
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) -> bool {
        if !self.dict.contains_key(key) {
            return false;
        }
        self.expires.insert(key.into(), when_ms);
        true
    }

    /// Drop the expiry of a key; true when it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        Self::forget_expire(&mut self.expires, key).is_some()
    }

    /// Remove everything; returns how many keys there were.
    pub fn clear(&mut self) -> usize {
        let n = self.dict.len();
        self.dict.clear();
        self.expires.clear();
        self.avg_ttl = 0;
        self.expire_cursor = 0;
        n
    }

    /// Exchange contents with another db, keeping ids and watchers in place (SWAPDB).
    pub fn swap_contents(&mut self, other: &mut Db) {
        std::mem::swap(&mut self.dict, &mut other.dict);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.avg_ttl, &mut other.avg_ttl);
        std::mem::swap(&mut self.expire_cursor, &mut other.expire_cursor);
    }
}
