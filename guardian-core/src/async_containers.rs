//! [`AsyncRebuild`] and [`AsyncFromBlueprint`] for the standard containers: `Box`,
//! `Option`, `Vec`, `VecDeque`, arrays, `BTreeMap` and `HashMap` of async values, as
//! the blocking ones have [`Rebuild`](crate::Rebuild) and
//! [`FromBlueprint`](crate::FromBlueprint), with the same semantics, awaited:
//!
//! - **Every element at once.** A rebuild starts the rebuild of every element (every
//!   map value; keys are cloned) and waits for all of them, so a `Vec` of k remote
//!   shards costs one round trip, not k.
//! - **All or nothing, every failure.** If any element fails, the rebuild still waits
//!   for all of them, then closes the ones that did open, in reverse order, and
//!   returns one [`RebuildError`] listing every failure, each under its path:
//!   [`PathSegment::Index`] for a sequence (`shards[2].conn`), [`PathSegment::Key`]
//!   for a map (`regions["eu"].conn`); the failures of that cleanup go in its
//!   [`cleanup`](RebuildError::cleanup). `Box` and `Option` add no segment.
//! - **Closing** closes the elements one after another in reverse order (a map: in
//!   reverse of its iteration order), goes on after a failure, and reports every
//!   failure under its path.
//!
//! The derive's own join nests futures in its state and allocates nothing; a container
//! holds a number of futures known only at run time, which cannot be pinned on the
//! stack without `unsafe` (forbidden in this workspace), so each element's future is
//! pinned in a `Box` of its own: one allocation per element and rebuild. Every wake
//! polls each element's future that has not finished, as the derive's join does.
//!
//! An error's type is the container's (`std::any::type_name`); seen from a derived
//! type that holds the container in a `#[nested]` field, it is that type's, with the
//! field in front of every path.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Debug;
use std::future::{Future, poll_fn};
use std::hash::{BuildHasher, Hash};
use std::pin::Pin;
use std::task::Poll;

use crate::{AsyncFromBlueprint, AsyncRebuild, CloseError, PathSegment, RebuildError};

/// Polls every future until all are done, and gives their outputs in order. Each is
/// pinned in a box of its own, dropped as soon as it is done.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut running: Vec<Option<Pin<Box<F>>>> = futures
        .into_iter()
        .map(|future| Some(Box::pin(future)))
        .collect();
    let mut outputs: Vec<Option<F::Output>> = running.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut all_done = true;
        for (slot, output) in running.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    // Every slot is done, so every output is there.
    outputs.into_iter().flatten().collect()
}

/// The elements, if every one was rebuilt; otherwise closes those that were (in
/// reverse order) and returns every failure, each under `segment(i)`, with the
/// failures of that cleanup.
async fn all_or_nothing<T: AsyncRebuild>(
    type_name: &'static str,
    results: Vec<Result<T, RebuildError>>,
    segment: impl Fn(usize) -> PathSegment,
) -> Result<Vec<T>, RebuildError> {
    let mut opened = Vec::with_capacity(results.len());
    let mut failed = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(value) => opened.push((i, value)),
            Err(error) => failed.push(error.within(segment(i)).of_type(type_name, None)),
        }
    }
    let mut failed = failed.into_iter();
    let Some(first) = failed.next() else {
        return Ok(opened.into_iter().map(|(_, value)| value).collect());
    };
    let error = failed.fold(first, RebuildError::and);
    let mut cleanup = CloseError::new(type_name);
    for (i, value) in opened.into_iter().rev() {
        if let Err(inner) = value.close().await {
            cleanup.push_nested(segment(i), inner);
        }
    }
    Err(error.with_cleanup(cleanup))
}

/// Closes every element, in the order given (the caller gives them in reverse), going
/// on after a failure; each failure under its element's segment.
async fn close_each<T: AsyncRebuild>(
    type_name: &'static str,
    elements: impl IntoIterator<Item = (PathSegment, T)>,
) -> Result<(), CloseError> {
    let mut errors = CloseError::new(type_name);
    for (segment, value) in elements {
        if let Err(inner) = value.close().await {
            errors.push_nested(segment, inner);
        }
    }
    errors.into_result()
}

/// The rebuilt elements as an array; the length is `N` by construction (one element
/// per future), and if it were not, the error says so rather than panic.
fn into_array<T, const N: usize>(
    type_name: &'static str,
    values: Vec<T>,
) -> Result<[T; N], RebuildError> {
    <[T; N]>::try_from(values).map_err(|_| {
        RebuildError::from_box(
            type_name,
            None,
            "",
            "an async rebuild of an array gave another number of elements (a bug in guardian)"
                .into(),
        )
    })
}

/// A box rebuilds and closes what it holds; errors have no segment of their own.
impl<T: AsyncRebuild> AsyncRebuild for Box<T> {
    async fn rebuild(&self) -> Result<Self, RebuildError> {
        T::rebuild(self).await.map(Box::new)
    }

    async fn close(self) -> Result<(), CloseError> {
        T::close(*self).await
    }
}

/// `None` rebuilds to `None` and closes with nothing to do; `Some` rebuilds and
/// closes what it holds. Errors have no segment of their own.
impl<T: AsyncRebuild> AsyncRebuild for Option<T> {
    async fn rebuild(&self) -> Result<Self, RebuildError> {
        match self {
            Some(value) => value.rebuild().await.map(Some),
            None => Ok(None),
        }
    }

    async fn close(self) -> Result<(), CloseError> {
        match self {
            Some(value) => value.close().await,
            None => Ok(()),
        }
    }
}

/// Every element at once, all or nothing; failures under `[index]`; closed in
/// reverse. One boxed future per element (a number known only at run time cannot be
/// pinned on the stack without `unsafe`).
impl<T: AsyncRebuild> AsyncRebuild for Vec<T> {
    async fn rebuild(&self) -> Result<Self, RebuildError> {
        let results = join_all(self.iter().map(T::rebuild)).await;
        all_or_nothing(std::any::type_name::<Self>(), results, PathSegment::Index).await
    }

    async fn close(self) -> Result<(), CloseError> {
        let elements = self.into_iter().enumerate().rev();
        close_each(
            std::any::type_name::<Self>(),
            elements.map(|(i, value)| (PathSegment::Index(i), value)),
        )
        .await
    }
}

/// As `Vec`: every element at once, all or nothing, failures under `[index]`.
impl<T: AsyncRebuild> AsyncRebuild for VecDeque<T> {
    async fn rebuild(&self) -> Result<Self, RebuildError> {
        let results = join_all(self.iter().map(T::rebuild)).await;
        all_or_nothing(std::any::type_name::<Self>(), results, PathSegment::Index)
            .await
            .map(VecDeque::from)
    }

    async fn close(self) -> Result<(), CloseError> {
        let elements = self.into_iter().enumerate().rev();
        close_each(
            std::any::type_name::<Self>(),
            elements.map(|(i, value)| (PathSegment::Index(i), value)),
        )
        .await
    }
}

/// As `Vec`: every element at once, all or nothing, failures under `[index]`.
impl<T: AsyncRebuild, const N: usize> AsyncRebuild for [T; N] {
    async fn rebuild(&self) -> Result<Self, RebuildError> {
        let name = std::any::type_name::<Self>();
        let results = join_all(self.iter().map(T::rebuild)).await;
        into_array(
            name,
            all_or_nothing(name, results, PathSegment::Index).await?,
        )
    }

    async fn close(self) -> Result<(), CloseError> {
        let elements = self.into_iter().enumerate().rev();
        close_each(
            std::any::type_name::<Self>(),
            elements.map(|(i, value)| (PathSegment::Index(i), value)),
        )
        .await
    }
}

/// Every value at once (keys are cloned), all or nothing; failures under the key as
/// its `Debug` shows it, `["eu"]`.
impl<K, V> AsyncRebuild for BTreeMap<K, V>
where
    K: Ord + Clone + Debug + Send + Sync,
    V: AsyncRebuild,
{
    async fn rebuild(&self) -> Result<Self, RebuildError> {
        let keys: Vec<&K> = self.keys().collect();
        let results = join_all(self.values().map(V::rebuild)).await;
        let values = all_or_nothing(std::any::type_name::<Self>(), results, |i| {
            PathSegment::key(keys[i])
        })
        .await?;
        Ok(keys.into_iter().cloned().zip(values).collect())
    }

    async fn close(self) -> Result<(), CloseError> {
        let entries = self.into_iter().rev();
        close_each(
            std::any::type_name::<Self>(),
            entries.map(|(key, value)| (PathSegment::key(&key), value)),
        )
        .await
    }
}

/// Every value at once (keys are cloned, the hasher too), all or nothing; failures
/// under the key as its `Debug` shows it. Closing goes in reverse of the map's
/// iteration order.
impl<K, V, S> AsyncRebuild for HashMap<K, V, S>
where
    K: Eq + Hash + Clone + Debug + Send + Sync,
    V: AsyncRebuild,
    S: BuildHasher + Clone + Send + Sync,
{
    async fn rebuild(&self) -> Result<Self, RebuildError> {
        let keys: Vec<&K> = self.keys().collect();
        let results = join_all(self.values().map(V::rebuild)).await;
        let values = all_or_nothing(std::any::type_name::<Self>(), results, |i| {
            PathSegment::key(keys[i])
        })
        .await?;
        let mut map = HashMap::with_capacity_and_hasher(values.len(), self.hasher().clone());
        map.extend(keys.into_iter().cloned().zip(values));
        Ok(map)
    }

    async fn close(self) -> Result<(), CloseError> {
        let entries: Vec<(K, V)> = self.into_iter().collect();
        close_each(
            std::any::type_name::<Self>(),
            entries
                .into_iter()
                .rev()
                .map(|(key, value)| (PathSegment::key(&key), value)),
        )
        .await
    }
}

/// The blueprint of what the box holds, boxed.
impl<T: AsyncFromBlueprint> AsyncFromBlueprint for Box<T> {
    type Blueprint = Box<T::Blueprint>;

    fn blueprint(&self) -> Self::Blueprint {
        Box::new(T::blueprint(self))
    }

    async fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        T::from_blueprint(*blueprint).await.map(Box::new)
    }
}

/// `None`'s blueprint is `None`.
impl<T: AsyncFromBlueprint> AsyncFromBlueprint for Option<T> {
    type Blueprint = Option<T::Blueprint>;

    fn blueprint(&self) -> Self::Blueprint {
        self.as_ref().map(T::blueprint)
    }

    async fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        match blueprint {
            Some(blueprint) => T::from_blueprint(blueprint).await.map(Some),
            None => Ok(None),
        }
    }
}

/// One blueprint per element; built all at once, all or nothing.
impl<T: AsyncFromBlueprint> AsyncFromBlueprint for Vec<T> {
    type Blueprint = Vec<T::Blueprint>;

    fn blueprint(&self) -> Self::Blueprint {
        self.iter().map(T::blueprint).collect()
    }

    async fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        let results = join_all(blueprint.into_iter().map(T::from_blueprint)).await;
        all_or_nothing(std::any::type_name::<Self>(), results, PathSegment::Index).await
    }
}

/// One blueprint per element; built all at once, all or nothing.
impl<T: AsyncFromBlueprint> AsyncFromBlueprint for VecDeque<T> {
    type Blueprint = VecDeque<T::Blueprint>;

    fn blueprint(&self) -> Self::Blueprint {
        self.iter().map(T::blueprint).collect()
    }

    async fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        let results = join_all(blueprint.into_iter().map(T::from_blueprint)).await;
        all_or_nothing(std::any::type_name::<Self>(), results, PathSegment::Index)
            .await
            .map(VecDeque::from)
    }
}

/// One blueprint per element; built all at once, all or nothing.
impl<T: AsyncFromBlueprint, const N: usize> AsyncFromBlueprint for [T; N] {
    type Blueprint = [T::Blueprint; N];

    fn blueprint(&self) -> Self::Blueprint {
        self.each_ref().map(T::blueprint)
    }

    async fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        let name = std::any::type_name::<Self>();
        let results = join_all(blueprint.into_iter().map(T::from_blueprint)).await;
        into_array(
            name,
            all_or_nothing(name, results, PathSegment::Index).await?,
        )
    }
}

/// The keys, each with its value's blueprint; built all at once, all or nothing.
impl<K, V> AsyncFromBlueprint for BTreeMap<K, V>
where
    K: Ord + Clone + Debug + Send + Sync,
    V: AsyncFromBlueprint,
{
    type Blueprint = BTreeMap<K, V::Blueprint>;

    fn blueprint(&self) -> Self::Blueprint {
        self.iter()
            .map(|(key, value)| (key.clone(), value.blueprint()))
            .collect()
    }

    async fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        let (keys, blueprints): (Vec<K>, Vec<V::Blueprint>) = blueprint.into_iter().unzip();
        let results = join_all(blueprints.into_iter().map(V::from_blueprint)).await;
        let values = all_or_nothing(std::any::type_name::<Self>(), results, |i| {
            PathSegment::key(&keys[i])
        })
        .await?;
        Ok(keys.into_iter().zip(values).collect())
    }
}

/// The keys, each with its value's blueprint, and the hasher; built all at once, all
/// or nothing.
impl<K, V, S> AsyncFromBlueprint for HashMap<K, V, S>
where
    K: Eq + Hash + Clone + Debug + Send + Sync,
    V: AsyncFromBlueprint,
    S: BuildHasher + Clone + Send + Sync,
{
    type Blueprint = HashMap<K, V::Blueprint, S>;

    fn blueprint(&self) -> Self::Blueprint {
        let mut blueprint = HashMap::with_capacity_and_hasher(self.len(), self.hasher().clone());
        blueprint.extend(
            self.iter()
                .map(|(key, value)| (key.clone(), value.blueprint())),
        );
        blueprint
    }

    async fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError> {
        let hasher = blueprint.hasher().clone();
        let (keys, blueprints): (Vec<K>, Vec<V::Blueprint>) = blueprint.into_iter().unzip();
        let results = join_all(blueprints.into_iter().map(V::from_blueprint)).await;
        let values = all_or_nothing(std::any::type_name::<Self>(), results, |i| {
            PathSegment::key(&keys[i])
        })
        .await?;
        let mut map = HashMap::with_capacity_and_hasher(values.len(), hasher);
        map.extend(keys.into_iter().zip(values));
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::task::{Context, Waker};

    /// Records what happened, in order.
    type Log = Arc<Mutex<Vec<String>>>;

    fn push(log: &Log, event: String) {
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    /// An element whose rebuild yields once, then fails if asked to; its close is
    /// recorded, and fails if asked to.
    struct Element {
        name: usize,
        log: Log,
        fails_to_rebuild: bool,
        fails_to_close: bool,
    }

    #[derive(Debug)]
    struct Refused;

    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("refused")
        }
    }

    impl std::error::Error for Refused {}

    impl AsyncRebuild for Element {
        async fn rebuild(&self) -> Result<Self, RebuildError> {
            push(&self.log, format!("start {}", self.name));
            let mut yielded = false;
            poll_fn(|cx| {
                if yielded {
                    Poll::Ready(())
                } else {
                    yielded = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await;
            push(&self.log, format!("end {}", self.name));
            if self.fails_to_rebuild {
                return Err(RebuildError::new("Element", "conn", Refused));
            }
            Ok(Element {
                name: self.name,
                log: Arc::clone(&self.log),
                fails_to_rebuild: false,
                fails_to_close: self.fails_to_close,
            })
        }

        async fn close(self) -> Result<(), CloseError> {
            push(&self.log, format!("close {}", self.name));
            let mut errors = CloseError::new("Element");
            if self.fails_to_close {
                errors.push("conn", Refused);
            }
            errors.into_result()
        }
    }

    fn elements(log: &Log, failing: &[usize], failing_close: &[usize]) -> Vec<Element> {
        (0..5)
            .map(|name| Element {
                name,
                log: Arc::clone(log),
                fails_to_rebuild: failing.contains(&name),
                fails_to_close: failing_close.contains(&name),
            })
            .collect()
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
        }
    }

    fn taken(log: &Log) -> Vec<String> {
        std::mem::take(&mut log.lock().unwrap_or_else(PoisonError::into_inner))
    }

    #[test]
    fn every_element_starts_before_any_ends_and_a_failure_closes_the_rest_in_reverse() {
        let log = Log::default();
        let live = elements(&log, &[1, 3], &[2]);
        let Err(err) = block_on(live.rebuild()) else {
            panic!("elements 1 and 3 fail");
        };
        let events = taken(&log);
        // All at once: every start before the first end.
        let first_end = events.iter().position(|e| e.starts_with("end")).unwrap();
        assert_eq!(first_end, 5, "{events:?}");
        // Then what opened is closed, in reverse: 4, 2, 0.
        assert_eq!(events[10..], ["close 4", "close 2", "close 0"]);
        let paths: Vec<String> = err
            .failures()
            .iter()
            .map(|f| f.path().to_string())
            .collect();
        assert_eq!(paths, ["[1].conn", "[3].conn"]);
        let cleanup = err.cleanup().expect("the close of element 2 failed");
        assert_eq!(cleanup.failures()[0].path().to_string(), "[2].conn");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot rebuild `{}`: 2 resource fields failed to open: `[1].conn`: refused; \
                 `[3].conn`: refused (and closing what was already opened failed: cannot \
                 close `{}`: field `[2].conn`: refused)",
                std::any::type_name::<Vec<Element>>(),
                std::any::type_name::<Vec<Element>>()
            )
        );
    }

    #[test]
    fn close_goes_in_reverse_and_on_after_a_failure() {
        let log = Log::default();
        let mut map = BTreeMap::new();
        for (key, element) in ["a", "b", "c"]
            .into_iter()
            .zip(elements(&log, &[], &[0, 2]))
        {
            map.insert(key, element);
        }
        let err = block_on(map.close()).unwrap_err();
        assert_eq!(taken(&log), ["close 2", "close 1", "close 0"]);
        let paths: Vec<String> = err
            .failures()
            .iter()
            .map(|f| f.path().to_string())
            .collect();
        assert_eq!(paths, ["[\"c\"].conn", "[\"a\"].conn"]);
    }
}
