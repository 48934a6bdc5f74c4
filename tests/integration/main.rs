//! Integration tests: real sockets on loopback, real RocksDB partitions in temp dirs.
//! One test binary (modules below) so the RocksDB-linked executable is built once.

// `&[peer.clone()]` reads as the peer list it is; `slice::from_ref` would not.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod admin;
mod busy;
mod cli;
mod codes;
mod common;
mod config_extremes;
mod crash;
mod discovery;
mod ext_attacks;
mod fastsum;
mod faults;
mod hardening;
mod host_hooks;
mod lifecycle;
mod limits;
mod mutation;
mod node;
mod origin;
mod peer_failures;
mod probes;
mod resume;
mod scripts;
mod tls;
mod tls_venice;
mod transfer;
mod vectors;
