//! The JNI surface (see issue #3): filled in by the bindings work.
