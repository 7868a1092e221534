//! The join a derived [`AsyncRebuild`](crate::AsyncRebuild) waits with: every open of
//! a value at once, without a runtime, without boxing and without `unsafe`.
//!
//! The derive writes the join out flat, for any number of fields:
//!
//! ```text
//! let mut f0 = pin!(open_f0);          // each future pinned where it is created,
//! let mut f1 = pin!(open_f1);          // in the rebuild's own state
//! let (mut s0, mut s1) = (None, None); // one slot per output
//! poll_fn(|cx| {
//!     poll_into(&mut s0, f0.as_mut(), cx);   // polls f0 only while s0 is empty
//!     poll_into(&mut s1, f1.as_mut(), cx);
//!     ready when every slot is full, with every output
//! }).await
//! ```
//!
//! Each future and each output is stored exactly once, so the rebuild's future is
//! the sum of its opens and their outputs (plus the values a failed rebuild must
//! close). Two shapes that look simpler cost far more, and were measured:
//!
//! - an `async fn join(a, b)` nested as `join(a, join(b, c))`: an async function
//!   keeps its arguments in its state beside what it moves them into, so the size
//!   doubled at each level (an 8-field rebuild future: 99,936 bytes for 144-byte
//!   opens);
//! - a `Join` future nested the same way over pinned handles: each level keeps its
//!   inner join's outputs again, so the outputs are stored up to k times over
//!   (5,920 bytes for the same 8 fields, against 2,6xx bytes flat; `BENCHMARKS.md`).
//!
//! A future that has finished is never polled again, and every future runs to
//! completion: nothing is dropped in flight when another fails, which is what lets
//! the rebuild close every resource that did open.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls `future` into `slot` while the slot is empty: once the future is done its
/// output is kept there, and the future is not polled again.
#[inline]
pub fn poll_into<F: Future + ?Sized>(
    slot: &mut Option<F::Output>,
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) {
    if slot.is_none()
        && let Poll::Ready(out) = future.poll(cx)
    {
        *slot = Some(out);
    }
}

#[cfg(test)]
mod tests {
    use super::poll_into;
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Ready after `n` polls, counting its polls in `polls`.
    async fn after(n: usize, polls: &Cell<usize>, value: u8) -> u8 {
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
        let (fast, slow) = (Cell::new(0), Cell::new(0));
        let mut a = pin!(after(0, &fast, 1));
        let mut b = pin!(after(3, &slow, 2));
        let (mut a_out, mut b_out) = (None, None);
        let mut joined = pin!(std::future::poll_fn(|cx| {
            poll_into(&mut a_out, a.as_mut(), cx);
            poll_into(&mut b_out, b.as_mut(), cx);
            match (a_out.take(), b_out.take()) {
                (Some(a), Some(b)) => Poll::Ready((a, b)),
                (a, b) => {
                    a_out = a;
                    b_out = b;
                    Poll::Pending
                }
            }
        }));
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
