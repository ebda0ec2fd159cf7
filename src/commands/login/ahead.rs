//! A CI login's undo record, written ahead while the key's check is in flight. The record of a
//! login is the same whatever the API answers (it says what the login is about to write, never
//! the key), so a thread of its own takes the trussrc's lock, plans the splice and makes the
//! record durable (file and directory) during the round trip. Once the key is accepted, the
//! trussrc's new bytes are written and fsynced beside it while that may still be going on, and
//! only their rename waits for the record. The lock is never waited for here: one another
//! process holds is left to it, and this login writes its record after the check, as any other.
//! Nor is it held for a slow answer: after [`HOLD`] the record is put back and the lock let go.
//!
//! Whatever goes wrong after the record is written ahead (the key refused, a write that fails,
//! a panic), [`Ahead`] is dropped and puts the record file back, byte for byte. A login killed
//! at any point leaves a record written ahead of a change it never made: what any killed login
//! leaves, and what its post undoes (`tests/crash.rs`).
use std::path::Path;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::Report;
use super::commit::{self, KeyringWrite, Scope};
use super::outputs;
use crate::atomic_file::Staged;
use crate::cli::Storage;
use crate::context::Context;
use crate::secret::ApiKey;
use crate::settings::LoginSettings;
use crate::{trussrc, undo};

/// How long a record written ahead holds the lock for the API's answer. A local API (a proxy, a
/// fake) answers well within it and the record is kept; an answer from across the internet is
/// slower than the write it would hide, so there it is put back and other logins of the same
/// HOME are not kept waiting.
const HOLD: Duration = Duration::from_millis(20);

/// What the record is planned from: all of it known before the API answers.
pub(super) struct Plan<'a> {
    path: &'a Path,
    remote: &'a str,
    remote_url: &'a str,
    key: &'a ApiKey,
    job: Option<String>,
    exported: Vec<String>,
    hold: Duration,
}

/// A plan for the record ahead, when this login can have one: a CI job (there is a record), an
/// inline key (no keyring write changes the text after the record), no job key (its intent is
/// staged around requests of its own), no `baseten` CLI profile (its journal names the record
/// when it is planned), and the trussrc's directory already there (nothing is created before the
/// key is checked).
pub(super) fn plan<'a>(
    settings: &'a LoginSettings,
    ctx: &Context<'_>,
    report: &'a Report,
    key: &'a ApiKey,
) -> Option<Plan<'a>> {
    let path = &settings.trussrc.path;
    let eligible = ctx.platform.is_ci()
        && settings.job_key.is_none()
        && settings.storage != Storage::Keyring
        && settings.baseten.is_none()
        && crate::atomic_file::parent_dir(path).is_dir();
    if !eligible {
        return None;
    }
    Some(Plan {
        path,
        remote: &report.remote,
        remote_url: &report.remote_url,
        key,
        job: ctx.job.clone(),
        exported: outputs::exported(settings, report, key, ctx.out).ok()?,
        hold: hold(ctx),
    })
}

#[cfg(not(feature = "test-hooks"))]
fn hold(_: &Context<'_>) -> Duration {
    HOLD
}

/// Test builds only: [`HOLD`] in milliseconds from `TRUSS_CI_TEST_AHEAD_HOLD_MS`, for a test that
/// acts while a record written ahead is held, or once it is let go.
#[cfg(feature = "test-hooks")]
fn hold(ctx: &Context<'_>) -> Duration {
    ctx.env
        .get("TRUSS_CI_TEST_AHEAD_HOLD_MS")
        .and_then(|ms| ms.parse().ok())
        .map_or(HOLD, Duration::from_millis)
}

/// Runs `check` (the key's check, on this thread) with the record of `plan` written ahead on
/// another; its [`Ahead`] when it is still held once `check` returns. When `accepted` says the
/// check let the key through and the record still holds the lock, the trussrc's new bytes are
/// written and fsynced here meanwhile: the login's last fsync overlaps the record's.
pub(super) fn beside<R>(
    plan: Option<Plan<'_>>,
    check: impl FnOnce() -> R,
    accepted: impl FnOnce(&R) -> bool,
) -> (R, Option<Ahead>) {
    let Some(plan) = plan else {
        return (check(), None);
    };
    let path = plan.path;
    let meeting = Meeting::default();
    std::thread::scope(|s| {
        let ahead = s.spawn(|| Ahead::write(plan, &meeting));
        let result = check();
        let text = meeting.answer();
        let staged = text
            .filter(|_| accepted(&result))
            .and_then(|text| trussrc::stage(path, &text).ok());
        let ahead = ahead
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (result, ahead.map(|a| a.with(staged)))
    })
}

/// Where the check (this login's thread) and the record written ahead (its own) meet.
#[derive(Default)]
struct Meeting {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The check has ended: a record written ahead is kept.
    answered: bool,
    /// The hold ran out, or the record could not be written: it is put back, its lock let go.
    let_go: bool,
    /// The trussrc's new text, once planned under the lock.
    text: Option<String>,
}

impl Meeting {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The check has ended. The trussrc's new text when the record holds the lock and keeps it
    /// from now on.
    fn answer(&self) -> Option<String> {
        let mut state = self.state();
        state.answered = true;
        self.changed.notify_all();
        if state.let_go {
            None
        } else {
            state.text.take()
        }
    }

    /// The record is written: whether it is kept (the check ended within `hold`), or let go.
    fn keep(&self, hold: Duration) -> bool {
        let deadline = Instant::now() + hold;
        let mut state = self.state();
        while !state.answered {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.let_go = true;
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// The record could not be written: nothing ahead to keep.
    fn fail(&self) {
        let mut state = self.state();
        state.let_go = true;
        state.text = None;
    }
}

/// The record written ahead, the trussrc still locked: the login's to commit, or, dropped, put
/// back.
pub(super) struct Ahead(Option<Held>);

struct Held {
    /// The trussrc's new bytes, written beside it once the key was accepted (dropped first: the
    /// temporary goes while the lock is still held).
    staged: Option<Staged>,
    journal: undo::Journal,
    records_before: Option<Vec<u8>>,
    id: String,
    /// The trussrc's new text (it holds the key; it is written only once the key is accepted).
    text: String,
    exported: Vec<String>,
}

/// What a commit takes over from the record written ahead.
pub(super) struct Taken {
    pub staged: Option<Staged>,
    pub journal: undo::Journal,
    pub records_before: Option<Vec<u8>>,
    pub id: String,
    pub text: String,
}

impl Ahead {
    /// Locks the trussrc if no one holds its lock, plans the splice, saves the record with it and
    /// waits for the check to end, at most [`HOLD`]. `None` when anything stood in the way: the
    /// login then does all of it after the check, and reports what stood in the way itself.
    fn write(plan: Plan<'_>, meeting: &Meeting) -> Option<Self> {
        let ahead = Self::save(plan, meeting);
        if ahead.is_none() {
            meeting.fail();
        }
        let hold = ahead.as_ref().map(|(_, hold)| *hold)?;
        // Let go (dropped: put back) when the check outlasts the hold.
        ahead.filter(|_| meeting.keep(hold)).map(|(ahead, _)| ahead)
    }

    fn save(plan: Plan<'_>, meeting: &Meeting) -> Option<(Self, Duration)> {
        // Read again under the lock, off the login's path: the read before it stays the login's.
        let journal = undo::Journal::open(plan.path, Duration::ZERO).ok()?;
        let locked = &journal.locked;
        let target = (plan.remote, plan.remote_url);
        let (text, spliced) = commit::splice(locked, target, plan.key, true).ok()?;
        // The check may end while the record is saved: the text is the check's to write then.
        meeting.state().text = Some(text.clone());
        let scope = Scope {
            job: plan.job,
            exported: plan.exported.clone(),
            job_keys: Vec::new(),
            staged: None,
        };
        let written = (text.as_str(), spliced);
        let keyring = (&KeyringWrite::None, plan.key);
        let record = commit::new_record(locked, plan.remote, written, keyring, scope, None);
        let records_before = journal.bytes().ok()?;
        let id = commit::save_record(&journal, records_before.as_deref(), None, &record).ok()?;
        let held = Held {
            staged: None,
            journal,
            records_before,
            id,
            text,
            exported: plan.exported,
        };
        Some((Ahead(Some(held)), plan.hold))
    }

    /// With the trussrc's new bytes written beside it meanwhile, if they were.
    fn with(mut self, staged: Option<Staged>) -> Self {
        if let Some(held) = &mut self.0 {
            held.staged = staged;
        }
        self
    }

    /// The names the record says the login exports.
    pub fn exported(&self) -> &[String] {
        self.0.as_ref().map_or(&[], |held| &held.exported)
    }

    /// The locked trussrc, as read when the record was planned.
    pub fn locked(&self) -> Option<&trussrc::Locked> {
        self.0.as_ref().map(|held| &held.journal.locked)
    }

    /// Hands the record and the lock to the commit: putting it back is its to do from now on.
    pub fn take(mut self) -> Option<Taken> {
        self.0.take().map(|held| Taken {
            staged: held.staged,
            journal: held.journal,
            records_before: held.records_before,
            id: held.id,
            text: held.text,
        })
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        if let Some(held) = self.0.take() {
            let _ = held.journal.put_back(held.records_before.as_deref());
        }
    }
}
