//! The join a derived [`AsyncRebuild`](crate::AsyncRebuild) waits with: every open of
//! a value at once, without a runtime and without boxing.
//!
//! [`join`] polls two futures until both are done; the derive nests it
//! (`join(a, join(b, c))`) for any number of fields. Each future is pinned in the
//! join's own state (`pin!`), so no allocation and no `unsafe` is needed, and one that
//! has finished is never polled again. Every future runs to completion: nothing is
//! dropped in flight when another fails, which is what lets the rebuild close every
//! resource that did open.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

/// Waits for both futures, polling each until it is done, and gives both outputs.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut a_out = None;
    let mut b_out = None;
    poll_fn(move |cx| {
        if a_out.is_none()
            && let Poll::Ready(out) = a.as_mut().poll(cx)
        {
            a_out = Some(out);
        }
        if b_out.is_none()
            && let Poll::Ready(out) = b.as_mut().poll(cx)
        {
            b_out = Some(out);
        }
        match (a_out.take(), b_out.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                a_out = a;
                b_out = b;
                Poll::Pending
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::join;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Ready after `n` polls, counting its polls in `polls`.
    async fn after(n: usize, polls: &std::cell::Cell<usize>, value: u8) -> u8 {
        let mut left = n;
        std::future::poll_fn(|cx| {
            polls.set(polls.get() + 1);
            if left == 0 {
                Poll::Ready(value)
            } else {
                left -= 1;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }

    #[test]
    fn both_run_to_completion_and_a_finished_one_is_not_polled_again() {
        let (fast, slow) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        let mut joined = pin!(join(after(0, &fast, 1), after(3, &slow, 2)));
        let mut cx = Context::from_waker(Waker::noop());
        let mut rounds = 0;
        let out = loop {
            rounds += 1;
            if let Poll::Ready(out) = joined.as_mut().poll(&mut cx) {
                break out;
            }
        };
        assert_eq!(out, (1, 2));
        assert_eq!(rounds, 4);
        assert_eq!(fast.get(), 1, "the finished future was polled again");
        assert_eq!(slow.get(), 4);
    }
}
