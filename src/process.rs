//! What the process does because it holds the key: it cannot dump core, and under `exec` every
//! terminating signal is caught from before anything is on disk, passed on to the command, and
//! answered by the cleanup rather than by a death that leaves the private trussrc behind.
use std::process::Child;

/// Called first thing, for every command (each may hold the key): no core file may hold it.
/// Lowering a soft limit and clearing the flag do not fail; there is nothing to report.
///
/// Unix: the soft `RLIMIT_CORE` goes to 0. The hard limit is left alone, so the command `exec`
/// runs inherits a soft limit of 0 (it reads the key too) but may raise it again. Linux: the
/// process is also marked not dumpable (`PR_SET_DUMPABLE` 0): no core even through a core
/// pattern that pipes to a helper (unless the administrator set `fs.suid_dumpable=2`), and no
/// attaching to it or reading its memory by other processes of the same user. `execve` resets
/// the flag, so the command is dumpable again, bound by the soft limit only. Windows has no
/// equivalent without unsafe calls: a crash there goes to Windows Error Reporting, which keeps a
/// memory dump only where `LocalDumps` is configured.
pub fn forbid_core_dumps() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let hard = getrlimit(Resource::Core).maximum;
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: hard,
            },
        );
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

/// How a supervised start ended: the command runs, or a signal came first and it was not
/// started.
pub enum Start {
    Running(Child),
    #[cfg_attr(not(unix), allow(dead_code))]
    Stopped(i32),
}

#[cfg(unix)]
pub use unix::Supervisor;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::process::{Child, Command, ExitStatus};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
    use std::thread::JoinHandle;

    use rustix::process::{Pid, Signal};
    use signal_hook::iterator::{Handle, Signals};
    use signal_hook::{SigId, flag};

    use super::Start;

    /// Every signal whose default action ends the process and that can be caught. SIGKILL and
    /// SIGSTOP cannot be; SIGSEGV, SIGILL and SIGFPE are faults (signal-hook refuses them);
    /// SIGPIPE is ignored by Rust's runtime (and set back to default in the command by `std`).
    /// The real-time signals are added in [`Supervisor::start`].
    const TERMINATING: &[(Signal, &str)] = &[
        (Signal::HUP, "SIGHUP"),
        (Signal::INT, "SIGINT"),
        (Signal::QUIT, "SIGQUIT"),
        (Signal::ABORT, "SIGABRT"),
        (Signal::USR1, "SIGUSR1"),
        (Signal::USR2, "SIGUSR2"),
        (Signal::ALARM, "SIGALRM"),
        (Signal::TERM, "SIGTERM"),
        (Signal::VTALARM, "SIGVTALRM"),
        (Signal::PROF, "SIGPROF"),
        (Signal::XCPU, "SIGXCPU"),
        (Signal::XFSZ, "SIGXFSZ"),
        (Signal::IO, "SIGIO"),
        (Signal::SYS, "SIGSYS"),
        (Signal::TRAP, "SIGTRAP"),
        (Signal::BUS, "SIGBUS"),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        (Signal::POWER, "SIGPWR"),
        #[cfg(all(
            any(target_os = "linux", target_os = "android"),
            not(any(
                target_arch = "mips",
                target_arch = "mips32r6",
                target_arch = "mips64",
                target_arch = "mips64r6",
                target_arch = "sparc",
                target_arch = "sparc64"
            ))
        ))]
        (Signal::STKFLT, "SIGSTKFLT"),
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        (Signal::EMT, "SIGEMT"),
    ];

    /// Linux's real-time signal numbers; the C library keeps the first few for itself and
    /// refuses handlers for them, which is how they are told apart.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const REAL_TIME: std::ops::RangeInclusive<i32> = 32..=64;

    pub fn name(signal: i32) -> String {
        TERMINATING
            .iter()
            .find(|(s, _)| s.as_raw() == signal)
            .map_or_else(|| format!("signal {signal}"), |(_, n)| (*n).to_owned())
    }

    #[derive(Clone, Copy)]
    enum Phase {
        /// Only memory holds the key: a signal ends the process at once.
        Holding,
        /// The private directory is being made: a signal is kept for [`Supervisor::spawn`],
        /// which removes it instead of starting the command.
        Preparing(Option<i32>),
        /// The command runs: a signal is passed on to it.
        Running(Pid),
        /// The command has ended: nothing is passed on (its pid may be reused).
        Finished,
    }

    /// Catches every terminating signal for as long as it lives, and acts on each according to
    /// the phase of the run.
    pub struct Supervisor {
        phase: Arc<Mutex<Phase>>,
        /// Set by the handler itself, before the interrupted thread goes on: a signal that
        /// came before the start is known to [`Supervisor::spawn`] even if the signal thread
        /// has not woken yet.
        caught: Arc<AtomicUsize>,
        flags: Vec<SigId>,
        handle: Handle,
        thread: Option<JoinHandle<()>>,
    }

    fn lock(phase: &Mutex<Phase>) -> MutexGuard<'_, Phase> {
        phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    impl Supervisor {
        /// Installs the handlers. Until [`Supervisor::preparing`], a signal ends the process
        /// with 128+N: nothing is on disk yet.
        pub fn start() -> io::Result<Self> {
            // The flag first: when the signal thread hears of a signal, the flag is set.
            let caught = Arc::new(AtomicUsize::new(0));
            let mut flags = Vec::new();
            let mut numbers = Vec::new();
            for (signal, _) in TERMINATING {
                let signal = signal.as_raw();
                let value = usize::try_from(signal).unwrap_or_default();
                flags.push(flag::register_usize(signal, Arc::clone(&caught), value)?);
                numbers.push(signal);
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            for signal in REAL_TIME {
                let value = usize::try_from(signal).unwrap_or_default();
                // EINVAL for the ones the C library reserves for itself.
                if let Ok(id) = flag::register_usize(signal, Arc::clone(&caught), value) {
                    flags.push(id);
                    numbers.push(signal);
                }
            }
            let signals = Signals::new(numbers)?;
            let handle = signals.handle();
            let phase = Arc::new(Mutex::new(Phase::Holding));
            let thread = {
                let phase = Arc::clone(&phase);
                std::thread::spawn(move || act(signals, &phase))
            };
            Ok(Self {
                phase,
                caught,
                flags,
                handle,
                thread: Some(thread),
            })
        }

        /// From here, something is put on disk (or minted): a signal waits for
        /// [`Supervisor::spawn`]. Calling it again keeps a signal already held.
        pub fn preparing(&self) {
            let mut phase = lock(&self.phase);
            if matches!(*phase, Phase::Holding) {
                *phase = Phase::Preparing(None);
            }
        }

        /// Starts the command, unless a signal came while preparing. Either way, what comes
        /// next is known to the signal thread before it can act again.
        pub fn spawn(&self, command: &mut Command) -> io::Result<Start> {
            let mut phase = lock(&self.phase);
            let noted = match *phase {
                Phase::Preparing(signal) => signal,
                _ => None,
            };
            let flagged = i32::try_from(self.caught.load(Ordering::SeqCst)).unwrap_or(0);
            if let Some(signal) = noted.or((flagged != 0).then_some(flagged)) {
                *phase = Phase::Finished;
                return Ok(Start::Stopped(signal));
            }
            let child = command.spawn();
            *phase = match child.as_ref().ok().map(Child::id) {
                Some(id) => i32::try_from(id)
                    .ok()
                    .and_then(Pid::from_raw)
                    .map_or(Phase::Finished, Phase::Running),
                None => Phase::Finished,
            };
            Ok(Start::Running(child?))
        }

        /// Waits for the command to end. It is reaped only once signals are no longer passed
        /// on, so none can reach a process that took its pid.
        pub fn wait(&self, mut child: Child) -> io::Result<ExitStatus> {
            let phase = *lock(&self.phase);
            if let Phase::Running(pid) = phase {
                let options =
                    rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOWAIT;
                // Not reaped: the pid stays this command's until `child.wait()`.
                while let Err(rustix::io::Errno::INTR) =
                    rustix::process::waitid(rustix::process::WaitId::Pid(pid), options)
                {
                }
            }
            *lock(&self.phase) = Phase::Finished;
            child.wait()
        }
    }

    impl Drop for Supervisor {
        fn drop(&mut self) {
            for id in self.flags.drain(..) {
                signal_hook::low_level::unregister(id);
            }
            self.handle.close();
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    fn act(mut signals: Signals, phase: &Mutex<Phase>) {
        for signal in signals.forever() {
            let mut phase = lock(phase);
            match *phase {
                Phase::Holding => stop(signal),
                Phase::Preparing(ref mut caught) => {
                    caught.get_or_insert(signal);
                }
                Phase::Running(pid) => forward(pid, signal),
                Phase::Finished => {}
            }
        }
    }

    /// Ends the process for `signal` while nothing is on disk; the lock on the phase is held, so
    /// the main thread cannot start writing meanwhile.
    #[allow(clippy::exit)] // the main thread may be deep in a request: nothing else can end it
    fn stop(signal: i32) -> ! {
        tracing::warn!("stopped by {} before anything was written", name(signal));
        std::process::exit(128 + signal)
    }

    /// Passes `signal` on. A real-time signal cannot be sent without unsafe code: the command
    /// gets SIGTERM, which ends it by default as the real-time one would have.
    fn forward(pid: Pid, signal: i32) {
        let signal = Signal::from_named_raw(signal).unwrap_or(Signal::TERM);
        let _ = rustix::process::kill_process(pid, signal);
    }
}

#[cfg(unix)]
pub use unix::name as signal_name;

/// Windows has no signals to catch or pass on: the console delivers Ctrl-C to the whole process
/// group, the command included.
#[cfg(not(unix))]
pub struct Supervisor;

#[cfg(not(unix))]
impl Supervisor {
    pub fn start() -> std::io::Result<Self> {
        Ok(Self)
    }

    pub fn preparing(&self) {}

    pub fn spawn(&self, command: &mut std::process::Command) -> std::io::Result<Start> {
        command.spawn().map(Start::Running)
    }

    pub fn wait(&self, mut child: Child) -> std::io::Result<std::process::ExitStatus> {
        child.wait()
    }
}

#[cfg(not(unix))]
pub fn signal_name(signal: i32) -> String {
    format!("signal {signal}")
}
