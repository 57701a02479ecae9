//! The script calls of one thread to one store, sent in batches: while a batch is at the
//! server, the calls made meanwhile wait here and leave together as the next one, one
//! `redis::Pipeline` on the thread's connection. A batch costs one message to the
//! connection's driver task, one answer back, one write and one timer, whatever its size;
//! sent one by one, each call had all of them, and its timer often woke the thread's event
//! loop (a timer earlier than the one the loop slept for re-arms it through its eventfd).
//! Nothing waits longer than it would have alone: Redis runs the commands of a connection one
//! after the other, so a call made while a batch is in flight would have been read after it.
//!
//! Each call still has its deadline, the store timeout after it was made: a batch is bounded
//! by the deadline of its oldest call, and the batch in flight by one older still, so no call
//! waits past its own. The price of one timer per batch: when the store answers slowly, close
//! to the timeout, a batch that starts late inherits its oldest call's short remainder, and
//! the newer calls in it fail with it, earlier than their own deadline (their commands may
//! still run in the store). A store that slow fails the timeout anyway; the failure mode
//! (`on_store_failure`) then answers them all alike.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Pipeline, RedisError, Value};
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Poll, Waker};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Why a call of a batch has no answer.
#[derive(Debug)]
pub(super) enum Unanswered {
    /// The batch did not come back before the deadline of its oldest call.
    Timeout,
    /// The connection failed (its error is each call's).
    Failed(RedisError),
}

/// A call's answer: the script's reply (an error reply is a `Value` too).
pub(super) type Answer = Result<Value, Unanswered>;

/// A call waiting for its batch's answer.
struct Caller {
    answer: oneshot::Sender<Answer>,
    /// When the call was made (its deadline is the store timeout after).
    since: Instant,
}

/// The calls waiting for the next batch.
#[derive(Default)]
struct Queue {
    /// Their commands, in the order of `callers`.
    commands: Pipeline,
    callers: Vec<Caller>,
    /// The sending task's waker, while it waits for calls.
    sender: Option<Waker>,
    /// Set when the thread's `Batches` is dropped (the sending task ends), or when the task
    /// ended otherwise (its runtime shut down): calls then fail at once.
    closed: bool,
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // Nothing panics while it holds the lock; a poisoned queue is still consistent.
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One thread's batches to one store, sent by a task of that thread's runtime.
pub(super) struct Batches {
    queue: Arc<Mutex<Queue>>,
}

impl Batches {
    /// Starts the sending task on `connection` (within a tokio runtime).
    pub(super) fn start(connection: ConnectionManager, timeout: Duration) -> Self {
        let queue = Arc::new(Mutex::new(Queue::default()));
        tokio::spawn(send(Arc::downgrade(&queue), connection, timeout));
        Self { queue }
    }

    /// A handle for one call (the queue outlives it only as long as the call).
    pub(super) fn handle(&self) -> BatchHandle {
        BatchHandle(Arc::clone(&self.queue))
    }

    /// Whether the sending task is gone (its runtime shut down): a thread that runs another
    /// runtime later needs new batches, and a new connection, on that one.
    pub(super) fn is_closed(&self) -> bool {
        lock(&self.queue).closed
    }
}

impl Drop for Batches {
    fn drop(&mut self) {
        let sender = {
            let mut queue = lock(&self.queue);
            queue.closed = true;
            queue.sender.take()
        };
        if let Some(sender) = sender {
            sender.wake();
        }
    }
}

/// The queue of one thread's batches, for one call.
pub(super) struct BatchHandle(Arc<Mutex<Queue>>);

impl BatchHandle {
    /// Sends `command` with the next batch; its answer, or why there is none.
    pub(super) async fn call(&self, command: Cmd) -> Answer {
        let (answer, receiver) = oneshot::channel();
        let sender = {
            let mut queue = lock(&self.0);
            if queue.closed {
                return Err(Unanswered::Failed(closed()));
            }
            queue.commands.add_command(command);
            queue.callers.push(Caller {
                answer,
                since: Instant::now(),
            });
            queue.sender.take()
        };
        if let Some(sender) = sender {
            sender.wake();
        }
        // The sending task answers every call it takes; if it ends first, `Closing` drops the
        // waiting calls' senders.
        receiver
            .await
            .unwrap_or_else(|_| Err(Unanswered::Failed(closed())))
    }
}

fn closed() -> RedisError {
    RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
}

/// The sending task: takes the waiting calls as one batch, sends it, answers each call, and
/// again, until the thread's `Batches` is dropped.
async fn send(queue: Weak<Mutex<Queue>>, mut connection: ConnectionManager, timeout: Duration) {
    let _closing = Closing(queue.clone());
    // Two sets of buffers, swapped with the queue's, so that batches reuse their memory.
    let mut commands = Pipeline::new();
    let mut callers = Vec::new();
    loop {
        let taken = poll_fn(|cx| {
            let Some(queue) = queue.upgrade() else {
                return Poll::Ready(false);
            };
            let mut queue = lock(&queue);
            if queue.closed {
                return Poll::Ready(false);
            }
            if queue.callers.is_empty() {
                queue.sender = Some(cx.waker().clone());
                return Poll::Pending;
            }
            std::mem::swap(&mut queue.commands, &mut commands);
            std::mem::swap(&mut queue.callers, &mut callers);
            Poll::Ready(true)
        })
        .await;
        if !taken {
            return;
        }
        let deadline = callers[0].since + timeout;
        let count = callers.len();
        let answers = tokio::time::timeout_at(
            deadline,
            connection.req_packed_commands(&commands, 0, count),
        )
        .await;
        match answers {
            Ok(Ok(values)) if values.len() == count => {
                for (caller, value) in callers.drain(..).zip(values) {
                    let _ = caller.answer.send(Ok(value));
                }
            }
            Ok(Ok(values)) => answer_all(&mut callers, || {
                Unanswered::Failed(RedisError::from((
                    redis::ErrorKind::Client,
                    "a batch was answered with another count of replies",
                    format!("{} replies to {count} commands", values.len()),
                )))
            }),
            Ok(Err(error)) => answer_all(&mut callers, || Unanswered::Failed(error.clone())),
            Err(_) => answer_all(&mut callers, || Unanswered::Timeout),
        }
        commands.clear();
    }
}

fn answer_all(callers: &mut Vec<Caller>, answer: impl Fn() -> Unanswered) {
    for caller in callers.drain(..) {
        let _ = caller.answer.send(Err(answer()));
    }
}

/// Closes the queue when the sending task ends, however it ends (its runtime may drop it):
/// the calls waiting get an error instead of waiting for a task that is gone.
struct Closing(Weak<Mutex<Queue>>);

impl Drop for Closing {
    fn drop(&mut self) {
        if let Some(queue) = self.0.upgrade() {
            let mut queue = lock(&queue);
            queue.closed = true;
            queue.commands.clear();
            queue.callers.clear();
            queue.sender = None;
        }
    }
}
