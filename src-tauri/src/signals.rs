//! SIGINT (Ctrl-C) and SIGTERM (a service manager, `kill`) for the CLI's
//! jobs. Each job stops the same way on either: it finishes what it holds
//! (commits what it read, flushes what it buffered, leaves whole files) and
//! reports, so a stopped job never loses or tears anything.

use tokio::sync::watch;

/// The stop signals, watched from the moment this is made: a signal that
/// comes before anyone awaits [`Signals::recv`] is still seen, never left
/// to the default action (which ends the process with nothing flushed).
pub struct Signals {
    #[cfg(unix)]
    watched: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Starts watching. Needs a tokio runtime with I/O enabled.
    pub fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(int), Ok(term)) => Signals {
                    watched: Some((int, term)),
                },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot watch for SIGINT/SIGTERM");
                    Signals { watched: None }
                }
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Resolves at the first SIGINT or SIGTERM. If they cannot be watched,
    /// never: the job then runs to its end rather than stopping at once.
    pub async fn recv(mut self) {
        #[cfg(unix)]
        match &mut self.watched {
            Some((int, term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            None => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("stop requested by signal");
    }
}

impl Default for Signals {
    fn default() -> Self {
        Signals::new()
    }
}

/// Sends `true` on `stop` at the first SIGINT or SIGTERM from now on. The
/// job must run on a multi-threaded runtime or await now and then, so the
/// watching task gets to run.
pub fn stop_on_signal(stop: watch::Sender<bool>) {
    let signals = Signals::new();
    tokio::spawn(async move {
        signals.recv().await;
        let _ = stop.send(true);
    });
}

/// A flag set at the first SIGINT or SIGTERM from now on, for jobs that
/// check a flag between files or chunks (the lake's sync, compaction and
/// views) rather than await a channel. Watched by a thread of its own with
/// a small runtime, so it works in blocking code and inside a runtime alike;
/// watching has begun when this returns, so an early signal is not left to
/// the default action (which would end the process mid-write).
pub fn cancel_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let (watching, watched) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            tracing::warn!("cannot watch for SIGINT/SIGTERM: no runtime for the watcher");
            let _ = watching.send(());
            return;
        };
        runtime.block_on(async move {
            let signals = Signals::new();
            let _ = watching.send(());
            signals.recv().await;
            flag.store(true, Ordering::Relaxed);
        });
    });
    let _ = watched.recv();
    cancel
}
