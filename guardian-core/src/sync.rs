//! Locks: factories that copy the data behind a lock into a fresh, unlocked lock,
//! [`SnapshotMutex`] for [`Mutex<T>`] and [`SnapshotRwLock`] for [`RwLock<T>`], where
//! `T: Clone`.
//!
//! A lock cannot be copied: cloning an `Arc<Mutex<T>>` shares the one lock (a double
//! booking: the copy's writes are the original's), and a fresh `Mutex::default()`
//! loses the data (a hollow copy). These factories take a *snapshot*: a reopen
//! locks the live lock without waiting, clones the data, and returns a new, unlocked
//! lock holding the copy. From then on the two locks are independent: a change behind
//! one is not seen behind the other.
//!
//! ```
//! use guardian_core::Rebuild;
//! use guardian_core::sync::SnapshotMutex;
//! use std::sync::Mutex;
//!
//! #[derive(Rebuild)]
//! struct Scoreboard {
//!     #[resource(factory = SnapshotMutex::<Vec<u32>>::default())]
//!     scores: Mutex<Vec<u32>>,
//! }
//!
//! let board = Scoreboard { scores: Mutex::new(vec![3, 1]) };
//! let copy = board.rebuild()?; // a new lock holding [3, 1]
//! copy.scores.lock().unwrap().push(4);
//! assert_eq!(*board.scores.lock().unwrap(), [3, 1]); // independent
//! assert_eq!(*copy.scores.lock().unwrap(), [3, 1, 4]);
//!
//! let guard = board.scores.lock().unwrap();
//! let Err(err) = board.rebuild() else { panic!("rebuilt a held lock") };
//! assert_eq!(err.field(), "scores"); // held: an error, never a deadlock
//! assert!(err.factory_error().to_string().contains("it is locked"));
//! # drop(guard);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a reopen gives back
//!
//! A new lock, unlocked and not poisoned, holding a [`Clone`] of the data behind the
//! live lock at the moment of the rebuild. Not:
//!
//! - **A view of the live data**: later changes on either side are not shared. If you
//!   want the copy to share the data, that is an `Arc<Mutex<T>>` in a
//!   `#[config(shared)]` field, not a resource.
//! - **A copy of a lock that is held.** A reopen never waits ([`Mutex::try_lock`],
//!   [`RwLock::try_read`]): waiting would deadlock when the thread rebuilding is the
//!   one holding the guard, and would block a rebuild behind any long critical
//!   section. A held lock gives a [`LockError`] that says so
//!   ([`is_held`](crate::sync::LockError::is_held)); release the guard and retry. For a `Mutex`
//!   that includes another rebuild copying it at that moment, so rebuilds of a value
//!   from several threads at once can refuse each other: use an `RwLock`, whose
//!   readers (rebuilds included) share it, when that matters. An `RwLock` is "held"
//!   when it is locked for writing, or when a writer is waiting for it (std's locks
//!   let a waiting writer go first).
//! - **A copy of a poisoned lock.** A thread panicked while holding it, so the data
//!   may be half-updated; the reopen gives a [`LockError`] that says so
//!   ([`is_poisoned`](crate::sync::LockError::is_poisoned)) rather than copying it into a lock that
//!   looks healthy. If you know the data is fine, call `clear_poison` on the live lock
//!   and rebuild again.
//!
//! A `Clone` of the data that panics does not poison the live lock: the guard is
//! released before the panic goes on.
//!
//! # Opening without a live lock
//!
//! [`Factory::open`] has no live lock to copy, so the factory carries the initial
//! value: `SnapshotMutex::new(initial)` opens `Mutex::new(initial.clone())`, and
//! `SnapshotMutex::default()` opens `Mutex::new(T::default())` (for `T: Default`).
//! A rebuild never uses it; it only matters when you open a lock through the
//! factory. Closing drops the lock.
//!
//! [`SnapshotMutex`]: crate::sync::SnapshotMutex
//! [`SnapshotRwLock`]: crate::sync::SnapshotRwLock
//! [`Mutex<T>`]: std::sync::Mutex
//! [`RwLock<T>`]: std::sync::RwLock
//! [`LockError`]: crate::sync::LockError
//! [`Mutex::try_lock`]: std::sync::Mutex::try_lock
//! [`RwLock::try_read`]: std::sync::RwLock::try_read
//! [`Clone`]: std::clone::Clone

use std::error::Error;
use std::fmt;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, RwLock, TryLockError, TryLockResult};

use crate::Factory;

/// Opens a [`Mutex<T>`] holding a clone of the initial value; a reopen gives a new,
/// unlocked `Mutex` holding a clone of the live one's data, or a [`LockError`] if the
/// live one is locked or poisoned.
///
/// See the [module docs](self) for what a reopen gives back.
///
/// ```
/// use guardian_core::Factory;
/// use guardian_core::sync::SnapshotMutex;
///
/// let factory = SnapshotMutex::new(vec!["e4"]);
/// let live = factory.open(&())?;
/// live.lock().unwrap().push("e5");
/// let copy = factory.reopen(&(), &live)?;
/// assert_eq!(*copy.lock().unwrap(), ["e4", "e5"]);
///
/// let held = live.lock().unwrap();
/// assert!(factory.reopen(&(), &live).unwrap_err().is_held());
/// # drop(held);
/// # Ok::<(), guardian_core::sync::LockError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotMutex<T> {
    initial: T,
}

impl<T> SnapshotMutex<T> {
    /// A factory whose [`open`](Factory::open) gives a `Mutex` holding a clone of
    /// `initial`.
    pub const fn new(initial: T) -> Self {
        Self { initial }
    }

    /// The value [`open`](Factory::open) starts from.
    pub const fn initial(&self) -> &T {
        &self.initial
    }
}

impl<T: Clone> Factory for SnapshotMutex<T> {
    type Config = ();
    type Resource = Mutex<T>;
    type Error = LockError;

    fn open(&self, (): &()) -> Result<Mutex<T>, LockError> {
        Ok(Mutex::new(self.initial.clone()))
    }

    fn reopen(&self, (): &(), live: &Mutex<T>) -> Result<Mutex<T>, LockError> {
        snapshot::<Mutex<T>, T, _>(live.try_lock(), MUTEX_HELD).map(Mutex::new)
    }
}

/// Opens an [`RwLock<T>`] holding a clone of the initial value; a reopen gives a new,
/// unlocked `RwLock` holding a clone of the live one's data, or a [`LockError`] if the
/// live one is locked for writing or poisoned.
///
/// The copy is taken under a read lock, which other readers share: rebuilds from many
/// threads at once do not refuse each other. See the [module docs](self).
///
/// ```
/// use guardian_core::Factory;
/// use guardian_core::sync::SnapshotRwLock;
///
/// let factory = SnapshotRwLock::<String>::default();
/// let live = factory.open(&())?;
/// live.write().unwrap().push_str("rated");
///
/// let reading = live.read().unwrap(); // readers do not stop a rebuild
/// let copy = factory.reopen(&(), &live)?;
/// drop(reading);
/// assert_eq!(*copy.read().unwrap(), "rated");
///
/// let writing = live.write().unwrap(); // a writer does
/// assert!(factory.reopen(&(), &live).unwrap_err().is_held());
/// # drop(writing);
/// # Ok::<(), guardian_core::sync::LockError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotRwLock<T> {
    initial: T,
}

impl<T> SnapshotRwLock<T> {
    /// A factory whose [`open`](Factory::open) gives an `RwLock` holding a clone of
    /// `initial`.
    pub const fn new(initial: T) -> Self {
        Self { initial }
    }

    /// The value [`open`](Factory::open) starts from.
    pub const fn initial(&self) -> &T {
        &self.initial
    }
}

impl<T: Clone> Factory for SnapshotRwLock<T> {
    type Config = ();
    type Resource = RwLock<T>;
    type Error = LockError;

    fn open(&self, (): &()) -> Result<RwLock<T>, LockError> {
        Ok(RwLock::new(self.initial.clone()))
    }

    fn reopen(&self, (): &(), live: &RwLock<T>) -> Result<RwLock<T>, LockError> {
        snapshot::<RwLock<T>, T, _>(live.try_read(), RWLOCK_HELD).map(RwLock::new)
    }
}

const MUTEX_HELD: &str = "locked (by a guard on this thread or another)";
const RWLOCK_HELD: &str =
    "locked for writing, or a writer is waiting for it (by a guard on this thread or another)";

/// The data behind a lock `L`, from the guard a non-blocking lock attempt gave: a
/// clone, or a [`LockError`] saying the lock is held (`held` describes how) or
/// poisoned. A panic in `T::clone` is caught so that the guard is released (without
/// poisoning the live lock) before the panic resumes.
fn snapshot<L: ?Sized, T: Clone, G: Deref<Target = T>>(
    attempt: TryLockResult<G>,
    held: &'static str,
) -> Result<T, LockError> {
    let guard = match attempt {
        Ok(guard) => guard,
        Err(TryLockError::WouldBlock) => return Err(LockError::new::<L>(LockState::Held, held)),
        Err(TryLockError::Poisoned(_)) => {
            return Err(LockError::new::<L>(LockState::Poisoned, held));
        }
    };
    let copy = catch_unwind(AssertUnwindSafe(|| (*guard).clone()));
    drop(guard);
    Ok(copy.unwrap_or_else(|panic| resume_unwind(panic)))
}

/// Why a lock could not be copied; see [`LockError::state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LockState {
    /// The lock is held (a `Mutex` locked, an `RwLock` locked for writing or with a
    /// writer waiting), by this thread or another.
    Held,
    /// A thread panicked while holding the lock.
    Poisoned,
}

/// A lock factory could not copy the live lock's data: it is held, or poisoned.
///
/// A refusal of guardian's own (the crate's [rule for errors](crate#errors)): nothing
/// below failed, so `Display` names the lock's type, says why and what to do, "cannot
/// copy the data of `Mutex<u32>`: it is locked (by a guard on this thread or another);
/// a rebuild does not wait for a lock: release the guard and rebuild again", and
/// [`source`](Error::source) is `None`. Code reads [`state`](LockError::state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockError {
    state: LockState,
    lock: &'static str,
    held: &'static str,
}

impl LockError {
    #[cold]
    fn new<L: ?Sized>(state: LockState, held: &'static str) -> Self {
        Self {
            state,
            lock: std::any::type_name::<L>(),
            held,
        }
    }

    /// Why the lock could not be copied.
    #[must_use]
    pub fn state(&self) -> LockState {
        self.state
    }

    /// Whether the lock was held.
    #[must_use]
    pub fn is_held(&self) -> bool {
        self.state == LockState::Held
    }

    /// Whether the lock was poisoned.
    #[must_use]
    pub fn is_poisoned(&self) -> bool {
        self.state == LockState::Poisoned
    }

    /// The lock's type, as [`std::any::type_name`] gives it (`Display` shows it
    /// without module paths).
    #[must_use]
    pub fn lock_type(&self) -> &'static str {
        self.lock
    }
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot copy the data of `{}`: ",
            short_type_name(self.lock)
        )?;
        match self.state {
            LockState::Held => write!(
                f,
                "it is {}; a rebuild does not wait for a lock: release the guard and \
                 rebuild again",
                self.held
            ),
            LockState::Poisoned => f.write_str(
                "it is poisoned (a thread panicked while holding it, so the data may be \
                 half-updated); if the data is sound, call `clear_poison` and rebuild again",
            ),
        }
    }
}

impl Error for LockError {}

/// `std::sync::poison::mutex::Mutex<alloc::vec::Vec<u32>>` as `Mutex<Vec<u32>>`: the
/// last segment of every path, for messages.
fn short_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut path_start = 0;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.truncate(path_start);
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                path_start = out.len();
            }
        }
    }
    out
}
