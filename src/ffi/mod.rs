//! The C ABI (see issue #3): filled in by the bindings work.
