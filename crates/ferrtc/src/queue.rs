//! The event queues from a connection's task to its handles ([`crate::Events`] and each
//! [`crate::DataChannel`]'s events): unbounded, one consumer at a time, and holding no memory
//! while empty.
//!
//! A tokio `mpsc` channel allocates a block of 32 slots when it is created and keeps it for as
//! long as it lives: 3 KiB for the connection's events and 1.3 KiB per data channel, which an
//! idle connection pays for nothing (issue 17). Here the items sit in a `VecDeque` that is
//! allocated by the first event and given back once the queue has been drained.
//!
//! Ends like a channel: when the [`Sender`] is dropped (the task ended, or the runtime
//! dropped it), the consumer gets `None` after the items left; when the consumer is dropped,
//! what is sent is discarded.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A drained queue keeps this many slots; a larger one is given back.
const KEEP: usize = 4;

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    waker: Option<Waker>,
    /// The sender is gone: `None` once `items` is empty.
    closed: bool,
    /// The consumer is gone: sends are discarded.
    abandoned: bool,
}

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
}

/// The sending side (the connection's task). Dropping it ends the queue.
#[derive(Debug)]
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving side. Dropping it makes later sends no-ops.
#[derive(Debug)]
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A new queue.
pub(crate) fn queue<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            waker: None,
            closed: false,
            abandoned: false,
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Queues `item` and wakes the consumer (discarded when the consumer is gone).
    pub(crate) fn send(&self, item: T) {
        let waker = {
            let Ok(mut s) = self.shared.state.lock() else {
                return;
            };
            if s.abandoned {
                return;
            }
            s.items.push_back(item);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = match self.shared.state.lock() {
            Ok(mut s) => {
                s.closed = true;
                s.waker.take()
            }
            Err(_) => None,
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once the sender is gone and the queue is empty.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Ok(mut s) = self.shared.state.lock() else {
            return Poll::Ready(None);
        };
        if let Some(item) = s.items.pop_front() {
            if s.items.is_empty() && s.items.capacity() > KEEP {
                s.items = VecDeque::new();
            }
            return Poll::Ready(Some(item));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Waits for the next item; `None` once the sender is gone and the queue is empty.
    pub(crate) async fn recv(&self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.shared.state.lock() {
            s.abandoned = true;
            s.items = VecDeque::new();
            s.waker = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_in_order_then_none_when_the_sender_is_gone() {
        let (tx, rx) = queue();
        tx.send(1);
        tx.send(2);
        assert_eq!(rx.recv().await, Some(1));
        let waiter = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(x) = rx.recv().await {
                got.push(x);
            }
            got
        });
        tokio::task::yield_now().await;
        tx.send(3);
        drop(tx);
        assert_eq!(waiter.await.unwrap(), vec![2, 3]);
    }

    #[tokio::test]
    async fn a_waiting_consumer_is_woken_by_a_send() {
        let (tx, rx) = queue::<u32>();
        let waiter = tokio::spawn(async move { rx.recv().await });
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        tx.send(7);
        assert_eq!(waiter.await.unwrap(), Some(7));
    }

    #[test]
    fn sends_after_the_consumer_is_gone_are_discarded() {
        let (tx, rx) = queue();
        let shared = rx.shared.clone();
        drop(rx);
        tx.send(String::from("lost"));
        assert!(shared.state.lock().unwrap().items.is_empty());
    }

    #[test]
    fn a_drained_queue_gives_its_memory_back() {
        let (tx, rx) = queue();
        for i in 0..100 {
            tx.send(i);
        }
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        for i in 0..100 {
            assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(i)));
        }
        assert_eq!(rx.shared.state.lock().unwrap().items.capacity(), 0);
        assert!(rx.poll_recv(&mut cx).is_pending());
    }
}
