//! The lock factories of `guardian_core::sync` with real locks and threads: a rebuild
//! is a fresh, unlocked lock holding a copy; held and poisoned locks give errors (never
//! a deadlock); a panicking `Clone` does not poison the live lock; rebuilds from eight
//! threads at once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex, RwLock};
use std::thread;

use guardian_core::sync::{LockError, LockState, SnapshotMutex, SnapshotRwLock};
use guardian_core::{Factory, Rebuild};
use guardian_suite::{TestResult, factory_error, rebuild_error};

#[derive(Rebuild)]
struct Scoreboard {
    #[config]
    event: String,
    #[resource(factory = SnapshotMutex::<Vec<u32>>::default())]
    scores: Mutex<Vec<u32>>,
}

#[derive(Rebuild)]
struct Standings {
    #[config]
    event: String,
    #[resource(factory = SnapshotRwLock::<Vec<String>>::default())]
    table: RwLock<Vec<String>>,
}

fn scoreboard(scores: &[u32]) -> Scoreboard {
    Scoreboard {
        event: "open".into(),
        scores: Mutex::new(scores.to_vec()),
    }
}

fn standings(names: &[&str]) -> Standings {
    Standings {
        event: "open".into(),
        table: RwLock::new(names.iter().map(ToString::to_string).collect()),
    }
}

#[test]
fn mutex_rebuild_is_a_fresh_lock_holding_a_copy() -> TestResult {
    let original = scoreboard(&[3, 1]);
    let copy = original.rebuild()?;
    assert_eq!(copy.event, "open");
    assert_eq!(*copy.scores.lock().unwrap(), [3, 1]);

    // Unlocked and healthy, and independent in both directions.
    assert!(!copy.scores.is_poisoned());
    copy.scores
        .try_lock()
        .expect("the copy is unlocked")
        .push(4);
    original.scores.lock().unwrap().push(9);
    assert_eq!(*original.scores.lock().unwrap(), [3, 1, 9]);
    assert_eq!(*copy.scores.lock().unwrap(), [3, 1, 4]);

    // A copy of the copy takes the copy's data.
    let second = copy.rebuild()?;
    assert_eq!(*second.scores.lock().unwrap(), [3, 1, 4]);
    second.close()?;
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn mutex_held_by_this_thread_gives_an_error_not_a_deadlock() -> TestResult {
    let original = scoreboard(&[7]);
    let mut guard = original.scores.lock().unwrap();
    guard.push(8);

    let err = rebuild_error(&original);
    assert_eq!(err.field(), "scores");
    let cause = factory_error::<LockError>(&err);
    assert!(cause.is_held());
    assert_eq!(cause.state(), LockState::Held);
    assert!(cause.lock_type().contains("Mutex<alloc::vec::Vec<u32>>"));
    let message = cause.to_string();
    assert!(
        message.starts_with("cannot copy the data of `Mutex<Vec<u32>>`: it is locked"),
        "{message}"
    );
    assert!(message.contains("release the guard"), "{message}");

    // The failed rebuild left the guard alone; once it is released, a rebuild works.
    guard.push(9);
    drop(guard);
    let copy = original.rebuild()?;
    assert_eq!(*copy.scores.lock().unwrap(), [7, 8, 9]);
    Ok(())
}

#[test]
fn mutex_held_by_another_thread_gives_an_error() {
    let original = scoreboard(&[1]);
    let locked = Barrier::new(2);
    let tried = Barrier::new(2);
    let outcome = thread::scope(|scope| {
        scope.spawn(|| {
            let _guard = original.scores.lock().unwrap();
            locked.wait();
            tried.wait();
        });
        locked.wait();
        let outcome = original.rebuild().map(|_| ());
        tried.wait();
        outcome
    });
    let err = outcome.expect_err("the other thread holds the lock");
    assert!(factory_error::<LockError>(&err).is_held());
}

fn poison<T: Send>(lock: &Mutex<T>) {
    let panicked = thread::scope(|scope| {
        scope
            .spawn(|| {
                let _guard = lock.lock().unwrap();
                panic!("poisoning the lock on purpose");
            })
            .join()
    });
    assert!(panicked.is_err());
}

#[test]
fn poisoned_mutex_gives_an_error_that_says_so() -> TestResult {
    let original = scoreboard(&[5]);
    poison(&original.scores);
    assert!(original.scores.is_poisoned());

    let err = rebuild_error(&original);
    assert_eq!(err.field(), "scores");
    let cause = factory_error::<LockError>(&err);
    assert!(cause.is_poisoned());
    assert!(!cause.is_held());
    let message = cause.to_string();
    assert!(message.contains("it is poisoned"), "{message}");
    assert!(message.contains("clear_poison"), "{message}");

    // Once the owner vouches for the data, a rebuild copies it into a healthy lock.
    original.scores.clear_poison();
    let copy = original.rebuild()?;
    assert!(!copy.scores.is_poisoned());
    assert_eq!(*copy.scores.lock().unwrap(), [5]);
    Ok(())
}

#[test]
fn rwlock_rebuild_is_a_fresh_lock_holding_a_copy() -> TestResult {
    let original = standings(&["Ada", "Bo"]);
    let copy = original.rebuild()?;
    assert_eq!(*copy.table.read().unwrap(), ["Ada", "Bo"]);
    copy.table
        .try_write()
        .expect("the copy is unlocked")
        .push("Cy".into());
    original.table.write().unwrap().clear();
    assert!(original.table.read().unwrap().is_empty());
    assert_eq!(*copy.table.read().unwrap(), ["Ada", "Bo", "Cy"]);
    copy.close()?;
    original.close()?;
    Ok(())
}

#[test]
fn rwlock_readers_do_not_stop_a_rebuild_but_a_writer_does() -> TestResult {
    let original = standings(&["Ada"]);
    let reading = original.table.read().unwrap();
    let also_reading = original.table.read().unwrap();
    let copy = original.rebuild()?; // shares the lock with the readers
    drop((reading, also_reading));
    assert_eq!(*copy.table.read().unwrap(), ["Ada"]);

    let mut writing = original.table.write().unwrap();
    writing.push("Bo".into());
    let err = rebuild_error(&original);
    let cause = factory_error::<LockError>(&err);
    assert!(cause.is_held());
    assert!(cause.lock_type().contains("RwLock<"));
    assert!(cause.to_string().contains("locked for writing"), "{cause}");
    drop(writing);
    assert_eq!(*original.rebuild()?.table.read().unwrap(), ["Ada", "Bo"]);
    Ok(())
}

#[test]
fn poisoned_rwlock_gives_an_error_that_says_so() {
    let original = standings(&["Ada"]);
    let panicked = thread::scope(|scope| {
        scope
            .spawn(|| {
                let _guard = original.table.write().unwrap();
                panic!("poisoning the lock on purpose");
            })
            .join()
    });
    assert!(panicked.is_err());
    let err = rebuild_error(&original);
    assert!(factory_error::<LockError>(&err).is_poisoned());
    assert!(err.factory_error().to_string().contains("poisoned"));
}

/// Data whose `Clone` panics when told to.
struct Fragile {
    explode: &'static AtomicBool,
}

impl Clone for Fragile {
    fn clone(&self) -> Self {
        assert!(
            !self.explode.load(Ordering::SeqCst),
            "Fragile::clone fails on purpose"
        );
        Self {
            explode: self.explode,
        }
    }
}

#[test]
fn a_panicking_clone_does_not_poison_the_live_lock() {
    static EXPLODE: AtomicBool = AtomicBool::new(true);
    let mutex = Mutex::new(Fragile { explode: &EXPLODE });
    let rwlock = RwLock::new(Fragile { explode: &EXPLODE });
    let factory = SnapshotMutex::new(Fragile { explode: &EXPLODE });
    let rw_factory = SnapshotRwLock::new(Fragile { explode: &EXPLODE });

    let panicked = catch_unwind(AssertUnwindSafe(|| factory.reopen(&(), &mutex)));
    assert!(panicked.is_err(), "the clone's panic goes on");
    assert!(!mutex.is_poisoned());
    assert!(mutex.try_lock().is_ok(), "the guard was released");

    let panicked = catch_unwind(AssertUnwindSafe(|| rw_factory.reopen(&(), &rwlock)));
    assert!(panicked.is_err());
    assert!(!rwlock.is_poisoned());
    assert!(rwlock.try_write().is_ok());
}

#[test]
fn open_starts_from_the_factorys_initial_value() -> TestResult {
    let opened = SnapshotMutex::new(vec![1, 2]).open(&())?;
    assert_eq!(*opened.lock().unwrap(), [1, 2]);
    let empty = SnapshotMutex::<Vec<u8>>::default().open(&())?;
    assert!(empty.lock().unwrap().is_empty());
    let named = SnapshotRwLock::new(String::from("start")).open(&())?;
    assert_eq!(*named.read().unwrap(), "start");
    assert_eq!(SnapshotRwLock::new(3).initial(), &3);
    Ok(())
}

#[test]
fn rwlock_rebuilds_from_eight_threads_at_once_all_succeed() -> TestResult {
    let original = standings(&["Ada", "Bo", "Cy"]);
    let copies = thread::scope(|scope| {
        let workers: Vec<_> = (0..8).map(|_| scope.spawn(|| original.rebuild())).collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("no panic"))
            .collect::<Result<Vec<_>, _>>()
    })?;
    assert_eq!(copies.len(), 8);
    for (i, copy) in copies.iter().enumerate() {
        copy.table.write().unwrap().push(format!("copy {i}"));
    }
    for (i, copy) in copies.into_iter().enumerate() {
        let expected = ["Ada", "Bo", "Cy"]
            .map(String::from)
            .into_iter()
            .chain([format!("copy {i}")])
            .collect::<Vec<_>>();
        assert_eq!(*copy.table.read().unwrap(), expected);
        copy.close()?;
    }
    assert_eq!(*original.table.read().unwrap(), ["Ada", "Bo", "Cy"]);
    Ok(())
}

#[test]
fn mutex_rebuilds_from_eight_threads_copy_or_report_the_lock_held() {
    let original = scoreboard(&[1, 2, 3]);
    let start = Barrier::new(8);
    let outcomes = thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    original.rebuild()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("no panic"))
            .collect::<Vec<_>>()
    });
    // A rebuild refused here found the lock held by another rebuild copying it, so
    // at least one copied; every copy is whole, every refusal says the lock was held.
    let mut copied = 0;
    for outcome in outcomes {
        match outcome {
            Ok(copy) => {
                assert_eq!(*copy.scores.lock().unwrap(), [1, 2, 3]);
                copied += 1;
            }
            Err(err) => assert!(factory_error::<LockError>(&err).is_held(), "{err}"),
        }
    }
    assert!(copied >= 1);
    assert!(!original.scores.is_poisoned());
}
