//! Integration tests: real sockets on loopback, real RocksDB partitions in temp dirs.
//! One test binary (modules below) so the RocksDB-linked executable is built once.

mod admin;
mod cli;
mod codes;
mod config_extremes;
mod common;
mod crash;
mod discovery;
mod ext_attacks;
mod fastsum;
mod hardening;
mod faults;
mod node;
mod peer_failures;
mod probes;
mod resume;
mod tls;
mod tls_venice;
mod lifecycle;
mod limits;
mod mutation;
mod scripts;
mod transfer;
mod vectors;
