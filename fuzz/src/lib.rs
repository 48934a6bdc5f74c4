//! The real protocol sources, compiled by path (never copied) so the fuzz targets exercise
//! exactly the code the library ships, without building RocksDB.

#[path = "../../src/error.rs"]
pub mod error;

#[path = "../../src/protocol/mod.rs"]
pub mod protocol;
