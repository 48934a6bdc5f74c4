//! The level a logger gives each of vbt's log records: vbt's own as logged; its dependencies'
//! at most DEBUG. Used by the host log sink (C, Java) and the `vbt` command's stderr logger.
//!
//! rustls warns about events that vbt reports itself, in its own words, when they matter: a
//! `user_canceled` alert ("TLS alert warning received"), which every Java client sends when it
//! closes a connection during the handshake, as Venice's receivers do for their connectivity
//! check before each transfer; and each fatal alert it sends ("Sending fatal alert"), which vbt
//! logs as the failed handshake it is. At WARN, a vbt sender in a Venice cluster would log a
//! warning for every Venice node that considers fetching from it.

/// The level to log a record of `target` at.
pub fn level_for(target: &str, level: log::Level) -> log::Level {
    if is_dependency(target) {
        level.max(log::Level::Debug)
    } else {
        level
    }
}

fn is_dependency(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    krate == "rustls" || krate == "tokio_rustls"
}

#[cfg(test)]
mod tests {
    use super::level_for;
    use log::Level;

    #[test]
    fn rustls_records_are_at_most_debug_and_vbts_keep_their_level() {
        assert_eq!(level_for("rustls::common_state", Level::Warn), Level::Debug);
        assert_eq!(level_for("rustls::conn", Level::Error), Level::Debug);
        assert_eq!(level_for("tokio_rustls", Level::Info), Level::Debug);
        assert_eq!(level_for("rustls::conn", Level::Trace), Level::Trace);
        assert_eq!(level_for("venice_blob_transfer::server", Level::Warn), Level::Warn);
        assert_eq!(level_for("venice_blob_transfer::client", Level::Info), Level::Info);
        assert_eq!(level_for("rustlsish", Level::Warn), Level::Warn);
    }
}
