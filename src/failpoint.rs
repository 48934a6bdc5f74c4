//! Named fault points for the crash and fault tests (TiKV's fail-rs, `failpoints` feature);
//! compiled to nothing otherwise. Names are listed in the README (Crash safety). A module that
//! has one imports the macro: `use crate::failpoint::failpoint;`.

/// A named fault point: `failpoint!("install-before-rename")`.
macro_rules! failpoint {
    ($name:literal) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name);
    };
}
pub(crate) use failpoint;
