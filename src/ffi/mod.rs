//! vbt's C ABI: bootstrap RocksDB partitions peer to peer, for LinkedIn Venice hosts written in
//! C or C++. Header: `include/vbt.h`, generated from this module by cbindgen. Library:
//! `scripts/install --prefix DIR` installs `libvbt.so.0` (soname) and `libvbt.a` with
//! `vbt.pc`: build with `pkg-config --cflags --libs vbt` (`--static` for the archive).
//!
//! A host makes a `vbt_config` (Venice's key/value settings and its callbacks), makes a
//! `vbt_node` from it, starts its server to serve partitions, and calls
//! `vbt_node_bootstrap_partition` to fetch one; the completion callback then reports the
//! result, with the offset record the host resumes Kafka from. `bindings/c/example.c` is a
//! complete host.
//!
//! # The contract (every `vbt_` function follows it)
//!
//! **Result codes.** Functions that can fail return a `vbt_result`: `VBT_OK` (0) or the class
//! of failure. Codes are stable, never reused, and the same numbers as Java's
//! `BlobTransferException.Code`. `vbt_result_name` and `vbt_result_message` describe any code.
//! On failure the calling thread's last error (`vbt_last_error_message`) says what exactly was
//! wrong (which argument, which key, which peer); it stays valid until the next call on that
//! thread of a function that returns `vbt_result`. Lookups and accessors do not touch it.
//!
//! **Ownership.** Opaque handles (`vbt_config`, `vbt_node`, `vbt_bootstrap_request`) are created
//! by `vbt_<type>_new` into an output pointer and owned by the host until it passes them to
//! `vbt_<type>_free`, exactly once. No other function takes ownership of an argument: whatever a
//! function needs beyond the call, it copies before returning. Objects vbt lends to callbacks
//! (`vbt_bootstrap_result`, `vbt_bytes`, `vbt_peer_list`, `vbt_message`, `vbt_checkpoint`, every
//! string and byte slice reached through them) are valid only until that callback returns. No
//! memory allocated by one side is ever freed by the other: the host gives data to vbt by letting
//! vbt copy it (`vbt_bytes_set`, `vbt_peer_list_add`, `vbt_message_set`, `vbt_checkpoint_set_*`).
//!
//! **NULL.** A NULL handle, string or output pointer where one is required returns
//! `VBT_INVALID_ARGUMENT`, naming the argument in the last error. Pointer arguments documented as
//! optional may be NULL. `vbt_<type>_free(NULL)` is a no-op. Accessors given NULL return NULL, 0
//! or an empty slice. Output arguments are written only when the function returns `VBT_OK`.
//!
//! **Panics.** A bug inside vbt never unwinds into the host or aborts it: it is caught at the
//! boundary and reported as `VBT_INTERNAL` with a message.
//!
//! **Strings.** Strings passed in are NUL-terminated UTF-8, read and copied before the call
//! returns; a string that is not UTF-8 returns `VBT_INVALID_ARGUMENT`. Strings returned are
//! NUL-terminated UTF-8: static ones (names, messages, version) live forever; the others live as
//! long as the object they came from, as each function says.
//!
//! **Threading.** vbt runs its own threads; the host needs no event loop. `vbt_node` functions may
//! be called from any thread, concurrently, except `vbt_node_free`, which must not race with other
//! calls on the same node. A `vbt_config` or `vbt_bootstrap_request` must not be modified from two
//! threads at once. By handing vbt a callback with a `user_data` pointer, the host allows vbt to
//! call it from vbt's threads, as each callback type says.
//!
//! **Callbacks.** Every callback gets the host's `user_data` first. A bootstrap that
//! `vbt_node_bootstrap_partition` accepted (returned `VBT_OK`) completes exactly once, on the
//! node's callback thread, one completion at a time: on success, failure, cancel, or when the node
//! is freed; never inside the call that started it and never on a thread that moves data. A
//! refused call never runs its callback. A completion callback may call back into vbt, including
//! `vbt_node_free` on its own node. Snapshot-source, checkpoint-source, discovery and
//! metadata-hook callbacks run on vbt threads and may block; they return a `vbt_result` number as
//! `uint32_t` (so an unknown number is never undefined behaviour), and those given a
//! `vbt_message` may say why they failed with `vbt_message_set`. Enumerations passed in by the
//! host (`vbt_table_format`, `vbt_log_level`) are `uint32_t` for the same reason. The checkpoint
//! source, metadata hook and files-sent listener are optional hooks: setting one with a NULL
//! function pointer unsets it.
//!
//! **Logging.** Logging is process-wide: the log sink of the most recently made node that has one
//! receives the records of every node, until that node is freed.

#![allow(non_camel_case_types)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]

// Declaration order is the header's order: cbindgen writes the exports file by file, in the
// order of these lines, each C type's exports together in its own file (the boundary macro comes
// first so the others see it). The blank lines keep rustfmt from sorting the groups.
#[macro_use]
pub(crate) mod boundary;

mod result;
mod types;

mod config;
mod node;

mod bootstrap_request;
mod progress;

mod bootstrap_result;

mod callbacks;
mod handle;

mod hooks;

mod checkpoint;

mod origin;

pub use bootstrap_request::{vbt_bootstrap_request, vbt_table_format};
pub use bootstrap_result::{vbt_bootstrap_result, vbt_completion_fn};
pub use callbacks::{vbt_bytes, vbt_log_fn, vbt_log_level, vbt_peer_discovery_fn, vbt_peer_list, vbt_snapshot_fn};
pub use checkpoint::{vbt_checkpoint, vbt_checkpoint_acquire_fn, vbt_checkpoint_release_fn};
pub use config::vbt_config;
pub use hooks::{vbt_file_sent_fn, vbt_message, vbt_metadata_hook_fn};
pub use node::vbt_node;
pub use origin::{vbt_origin_identity_fn, vbt_origin_may_read_fn};
pub use progress::{vbt_progress, vbt_progress_fn};
pub use result::vbt_result;
pub use types::vbt_byte_slice;

#[cfg(test)]
mod tests;
