//! SIGINT, SIGTERM and SIGHUP as a stop request the training loop polls before each step.

use crate::exit::Stopped;
use anyhow::{Context, Result};

/// SIGINT, SIGTERM and SIGHUP as a request the training loop reads before each step; a second
/// one while stopping ends the process at once (128 + its number).
pub(crate) struct StopSignals {
    #[cfg(unix)]
    which: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl StopSignals {
    #[cfg(unix)]
    pub(crate) fn install() -> Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        let requested = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, requested.clone())
                .context("cannot install a signal handler")?;
            signal_hook::flag::register(sig, requested.clone())
                .context("cannot install a signal handler")?;
            signal_hook::flag::register_usize(sig, which.clone(), sig as usize)
                .context("cannot install a signal handler")?;
        }
        Ok(Self { which })
    }

    #[cfg(not(unix))]
    pub(crate) fn install() -> Result<Self> {
        Ok(Self {})
    }

    /// Whether a stop has been asked for (what the training loop polls).
    pub(crate) fn is_requested(&self) -> bool {
        self.requested().is_some()
    }

    /// The signal's name, and the error that ends the process with its exit code, for a run
    /// that stopped on request.
    pub(crate) fn stopped(&self) -> (&'static str, Stopped) {
        let (name, code) = self.requested().unwrap_or(("a stop request", 1));
        (name, Stopped(code))
    }

    /// The signal's name and the exit code it asks for, once one has arrived.
    fn requested(&self) -> Option<(&'static str, u8)> {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let sig = self.which.load(std::sync::atomic::Ordering::Relaxed);
            let name = match sig as i32 {
                0 => return None,
                SIGINT => "SIGINT",
                SIGTERM => "SIGTERM",
                SIGHUP => "SIGHUP",
                _ => "a signal",
            };
            Some((name, 128 + sig as u8))
        }
        #[cfg(not(unix))]
        None
    }
}
