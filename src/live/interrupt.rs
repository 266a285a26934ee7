//! SIGINT and SIGTERM during `reconf live`: the signal is only noted, and the control loop ends
//! the run itself — aborting the migrations in flight (so each VM runs on exactly one host),
//! waiting for the other actions, writing its files — then exits 130 or 143 (128 + signal, as
//! shells do). A second signal stops the waiting (the files are still written).

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;

/// The signals received so far.
#[derive(Debug, Default)]
pub struct Interrupt {
    count: AtomicUsize,
    last: AtomicI32,
}

impl Interrupt {
    /// Notes that signal `signal` arrived.
    pub fn note(&self, signal: i32) {
        self.last.store(signal, Ordering::SeqCst);
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// How many signals arrived.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// The last signal's number, if any arrived.
    pub fn signal(&self) -> Option<i32> {
        (self.count() > 0).then(|| self.last.load(Ordering::SeqCst))
    }

    /// The exit code for an interrupted run: 128 + the signal.
    pub fn exit_code(&self) -> Option<u8> {
        self.signal().map(|s| (128 + s).clamp(0, 255) as u8)
    }
}

/// Catches SIGINT and SIGTERM from now on (on a thread of their own) into an [`Interrupt`].
#[cfg(feature = "libvirt")]
pub fn catch() -> std::io::Result<Arc<Interrupt>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let interrupt = Arc::new(Interrupt::default());
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let noted = Arc::clone(&interrupt);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for s in signals.forever() {
                noted.note(s);
            }
        })?;
    Ok(interrupt)
}

/// Without the `libvirt` feature there is no live run to interrupt.
#[cfg(not(feature = "libvirt"))]
pub fn catch() -> std::io::Result<Arc<Interrupt>> {
    Ok(Arc::new(Interrupt::default()))
}
