//! `#[rebuild(async)]` as the derive generates it, observed through a factory that
//! records every step: all opens start before any finishes (concurrency), or one after
//! another (`sequential`); every open is awaited even when another failed; what opened
//! is closed in reverse order; every failure is reported with its path; dropping a
//! rebuild part-way drops (never closes) what it opened. No runtime: a poll loop drives
//! the futures, which yield once at every step. (The tokio factories and descriptor
//! counts on a real runtime are in `tokio_factories.rs`.)

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use guardian_core::{AsyncFactory, AsyncFromBlueprint, AsyncRebuild, Rebuild};
use guardian_suite::TestResult;

/// What happened, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, event: String) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The recipe of one recorded resource: its name, where to record, and whether its
/// open or close fails.
#[derive(Clone)]
struct Plan {
    name: &'static str,
    log: Log,
    fails_to_open: bool,
    fails_to_close: bool,
}

impl Plan {
    fn new(name: &'static str, log: &Log) -> Self {
        Plan {
            name,
            log: log.clone(),
            fails_to_open: false,
            fails_to_close: false,
        }
    }

    fn failing(mut self) -> Self {
        self.fails_to_open = true;
        self
    }

    fn failing_close(mut self) -> Self {
        self.fails_to_close = true;
        self
    }
}

/// A resource that records being dropped (closed or not).
struct Handle {
    name: &'static str,
    log: Log,
    fails_to_close: bool,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.log.push(format!("drop {}", self.name));
    }
}

#[derive(Debug)]
struct Refused(&'static str);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} refused", self.0)
    }
}

impl std::error::Error for Refused {}

/// Yields once, so that a join interleaves the futures it polls.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

struct Recorder;

impl AsyncFactory for Recorder {
    type Config = Plan;
    type Resource = Handle;
    type Error = Refused;

    async fn open(&self, plan: &Plan) -> Result<Handle, Refused> {
        plan.log.push(format!("start {}", plan.name));
        yield_once().await;
        if plan.fails_to_open {
            plan.log.push(format!("fail {}", plan.name));
            return Err(Refused(plan.name));
        }
        plan.log.push(format!("open {}", plan.name));
        Ok(Handle {
            name: plan.name,
            log: plan.log.clone(),
            fails_to_close: plan.fails_to_close,
        })
    }

    async fn close(&self, handle: Handle) -> Result<(), Refused> {
        handle.log.push(format!("close {}", handle.name));
        yield_once().await;
        if handle.fails_to_close {
            Err(Refused(handle.name))
        } else {
            Ok(())
        }
    }
}

/// Polls `future` to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

#[derive(Rebuild)]
#[rebuild(async, blueprint)]
struct Three {
    #[config]
    a: Plan,
    #[config]
    b: Plan,
    #[config]
    c: Plan,
    #[resource(factory = Recorder, from = a)]
    first: Handle,
    #[resource(factory = Recorder, from = b)]
    second: Handle,
    #[resource(factory = Recorder, from = c)]
    third: Handle,
}

impl Three {
    fn new(a: Plan, b: Plan, c: Plan) -> Self {
        let open = |plan: &Plan| block_on(Recorder.open(plan)).expect("the original opens");
        Three {
            first: open(&a),
            second: open(&b),
            third: open(&c),
            a,
            b,
            c,
        }
    }
}

#[derive(Rebuild)]
#[rebuild(async, sequential)]
struct InOrder {
    #[config]
    a: Plan,
    #[config]
    b: Plan,
    #[resource(factory = Recorder, from = a)]
    first: Handle,
    #[resource(factory = Recorder, from = b)]
    second: Handle,
}

fn strs(events: &[String]) -> Vec<&str> {
    events.iter().map(String::as_str).collect()
}

#[test]
fn every_open_starts_before_any_finishes() -> TestResult {
    let log = Log::default();
    let original = Three::new(
        Plan::new("a", &log),
        Plan::new("b", &log),
        Plan::new("c", &log),
    );
    log.take();
    let copy = block_on(original.rebuild())?;
    assert_eq!(
        strs(&log.take()),
        [
            "start a", "start b", "start c", "open a", "open b", "open c"
        ]
    );
    block_on(copy.close())?;
    assert_eq!(
        strs(&log.take()),
        [
            "close c", "drop c", "close b", "drop b", "close a", "drop a"
        ],
        "close goes in reverse declaration order"
    );
    block_on(original.close())?;
    Ok(())
}

#[test]
fn sequential_opens_one_after_another() -> TestResult {
    let log = Log::default();
    let (a, b) = (Plan::new("a", &log), Plan::new("b", &log));
    let original = InOrder {
        first: block_on(Recorder.open(&a))?,
        second: block_on(Recorder.open(&b))?,
        a,
        b,
    };
    log.take();
    let copy = block_on(original.rebuild())?;
    assert_eq!(
        strs(&log.take()),
        ["start a", "open a", "start b", "open b"]
    );
    block_on(copy.close())?;
    block_on(original.close())?;
    Ok(())
}

#[test]
fn a_failure_waits_for_every_open_then_closes_what_opened_in_reverse() -> TestResult {
    let log = Log::default();
    let original = Three::new(
        Plan::new("a", &log),
        Plan::new("b", &log),
        Plan::new("c", &log),
    );
    // The copy's `b` fails; `a` and `c` open anyway and must be closed, not dropped.
    let mut plans = original.blueprint();
    plans.b = plans.b.failing();
    log.take();
    let Err(err) = block_on(Three::from_blueprint(plans)) else {
        panic!("`b` was supposed to fail");
    };
    assert_eq!(
        strs(&log.take()),
        [
            "start a", "start b", "start c", "open a", "fail b", "open c", "close c", "drop c",
            "close a", "drop a"
        ]
    );
    assert_eq!(err.failures().len(), 1);
    assert_eq!(err.field(), "second");
    assert_eq!(err.factory_error().to_string(), "b refused");
    assert!(err.cleanup().is_none());
    block_on(original.close())?;
    Ok(())
}

#[test]
fn every_failure_is_reported_and_a_failed_rollback_is_kept() -> TestResult {
    let log = Log::default();
    let original = Three::new(
        Plan::new("a", &log),
        Plan::new("b", &log),
        Plan::new("c", &log),
    );
    let mut plans = original.blueprint();
    plans.a = plans.a.failing();
    plans.b = plans.b.failing_close();
    plans.c = plans.c.failing();
    let Err(err) = block_on(Three::from_blueprint(plans)) else {
        panic!("`a` and `c` were supposed to fail");
    };
    let failed: Vec<String> = err
        .failures()
        .iter()
        .map(|f| f.path().to_string())
        .collect();
    assert_eq!(
        failed,
        ["first", "third"],
        "every failure, in declaration order"
    );
    assert_eq!(
        err.to_string(),
        "cannot rebuild `Three`: 2 resource fields failed to open: `first`: a refused; \
         `third`: c refused (and closing what was already opened failed: cannot close \
         `Three`: field `second`: b refused)"
    );
    // An aggregate has no single cause.
    assert!(std::error::Error::source(&err).is_none());
    let cleanup = err.cleanup().expect("closing `second` failed");
    assert_eq!(cleanup.failures()[0].field(), "second");
    block_on(original.close())?;
    Ok(())
}

#[derive(Rebuild)]
#[rebuild(async)]
struct Service {
    #[config]
    log: Plan,
    #[resource(factory = Recorder, from = log)]
    journal: Handle,
    #[nested]
    primary: Three,
    #[nested]
    replica: Three,
}

#[test]
fn a_failure_deep_inside_a_nested_value_carries_its_path() -> TestResult {
    let log = Log::default();
    let backend = |n: &'static str| {
        Three::new(
            Plan::new(n, &log),
            Plan::new("ok", &log),
            Plan::new("ok", &log),
        )
    };
    let mut broken = backend("x");
    broken.c = broken.c.clone().failing();
    let service = Service {
        journal: block_on(Recorder.open(&Plan::new("journal", &log)))?,
        log: Plan::new("journal", &log),
        primary: backend("y"),
        replica: broken,
    };
    log.take();
    let Err(err) = block_on(service.rebuild()) else {
        panic!("replica.third was supposed to fail");
    };
    assert_eq!(err.type_name(), "Service");
    assert_eq!(err.field(), "replica");
    assert_eq!(err.path().to_string(), "replica.third");
    let events = log.take();
    let opened = events.iter().filter(|e| e.starts_with("open")).count();
    let closed = events.iter().filter(|e| e.starts_with("close")).count();
    assert_eq!(
        opened, closed,
        "everything that opened was closed: {events:?}"
    );
    block_on(service.close())?;
    Ok(())
}

#[test]
fn a_rebuild_dropped_part_way_drops_what_it_opened_without_closing_it() -> TestResult {
    let log = Log::default();
    let original = Three::new(
        Plan::new("a", &log),
        Plan::new("b", &log),
        Plan::new("c", &log),
    );
    log.take();
    {
        let mut rebuild = pin!(original.rebuild());
        let mut cx = Context::from_waker(Waker::noop());
        // First poll: every open starts and yields.
        assert!(rebuild.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(
        strs(&log.take()),
        ["start a", "start b", "start c"],
        "nothing had opened yet: nothing to drop"
    );
    {
        let mut rebuild = pin!(original.rebuild());
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..2 {
            let _ = rebuild.as_mut().poll(&mut cx);
        }
    }
    let events = log.take();
    assert!(
        events.iter().all(|e| !e.starts_with("close")),
        "a cancelled rebuild cannot await a close: {events:?}"
    );
    let dropped = events.iter().filter(|e| e.starts_with("drop")).count();
    let opened = events.iter().filter(|e| e.starts_with("open")).count();
    assert_eq!(dropped, opened, "what opened was dropped: {events:?}");
    block_on(original.close())?;
    Ok(())
}

#[test]
fn the_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let log = Log::default();
    let original = Three::new(
        Plan::new("a", &log),
        Plan::new("b", &log),
        Plan::new("c", &log),
    );
    send(&original.rebuild());
    send(&Three::from_blueprint(original.blueprint()));
    send(&original.close());
}
