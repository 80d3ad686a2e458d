//! Persistence formats: RDB (files, DUMP payloads, replication transfers) and their building blocks.
//!
//! This module owns the on-disk byte formats and nothing else: encoding, decoding and validating them.
//! It never touches the keyspace, sockets or client state; the server hands it values to serialize and
//! takes back what it decodes.
//!
//! - `aof`: the AOF manifest, file names, and the reader of AOF command files.
//! - `aof_rewrite`: a dataset written as commands (an AOF base without the RDB preamble).
//! - `crc64`: Redis's CRC-64/Jones checksum (RDB trailer, DUMP footer).
//! - `lzf`: the LZF compressor and strict decompressor.
//! - `rdb`: values and whole datasets in the RDB format, DUMP payloads.
//! - `rdb_load`: reading a dataset record by record, from a file or a transfer still arriving.
//! - `rdb_io`: RDB primitives (lengths, strings, doubles, times, opcodes and type numbers).
//! - `ziplist`, `zipmap`: read-only decoders for the legacy encodings found in older RDB files.

pub mod aof;
pub mod aof_rewrite;
pub mod crc64;
pub mod lzf;
pub mod rdb;
pub mod rdb_io;
pub mod rdb_load;
pub mod rdb_stream;
pub mod ziplist;
pub mod zipmap;
