//! The bounded queue between the threads that log and the one thread that writes stderr.
//!
//! A request thread never waits for stderr: it hands its line to a queue of fixed length and
//! goes on. A background thread writes the queue out in batches. When stderr stalls (a pipe
//! nobody reads, a wedged log shipper, Docker's blocking log driver), the queue fills and
//! further lines are dropped and counted (`s3_broker_log_lines_dropped_total{reason=
//! "queue_full"}`); when a write fails (`EPIPE`, `ENOSPC`), its lines are counted as
//! `reason="write_failed"`. Neither ever reaches a request, and nothing panics. Once a write
//! succeeds again, one line says how many lines were lost since the last such line.

use super::json::{write_json_str, write_timestamp};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// Lines a queue holds when the configuration says nothing (`server.log_queue_lines`).
pub const DEFAULT_QUEUE_LINES: usize = 4096;

/// The most bytes written to stderr in one `write` call.
const BATCH_BYTES: usize = 64 * 1024;

/// How long the writer thread sleeps when the queue is empty. It polls rather than blocks on
/// the queue: a blocked receiver must be woken by each sender (a futex system call of a few
/// microseconds on the request thread); a polling one never is.
const POLL: Duration = Duration::from_millis(5);

/// The size the pipe under stderr is grown to, when stderr is a pipe smaller than that: the
/// most an unprivileged process may ask for (`/proc/sys/fs/pipe-max-size`'s default). With
/// Linux's default of 64 KiB, one batch fills the pipe and the next write waits for the
/// reader (a sleep and a wake-up of the writer thread per batch, on the request threads'
/// core); with room for many batches, the writer never waits while the reader keeps up.
#[cfg(any(target_os = "linux", target_os = "android"))]
const PIPE_BYTES: usize = 1024 * 1024;

/// How long [`LogGuard`]'s drop waits for the queue to be written out.
const FLUSH_BUDGET: Duration = Duration::from_secs(2);

/// How lines are rendered: JSON for `serve`, text for `dev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (production).
    Json,
    /// Human-readable lines (development).
    Text,
}

/// What travels through the queue.
pub(crate) enum Entry {
    /// A formatted line (a tracing event), newline included.
    Line(Vec<u8>),
    /// A record the writer thread formats (an access log line), so that the thread that
    /// logs only copies its fields.
    Record(Box<dyn Render>),
    /// An audit record ([`super::audit`]): written to the audit destination when one is set
    /// apart, else like a record.
    Audit(Box<dyn Render>),
    /// Answer on the channel once everything queued before has been written (or lost).
    Flush(SyncSender<()>),
}

/// A log record formatted on the writer thread.
pub(crate) trait Render: Send {
    /// Appends the record's line (newline included) in `format`.
    fn render(&self, format: LogFormat, out: &mut Vec<u8>);
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DropLabels {
    reason: &'static str,
}

/// The process-wide drop counters: logging starts before the metrics registry exists, and
/// every registry ([`super::Metrics::new`]) registers this family.
struct Drops {
    family: Family<DropLabels, Counter>,
    queue_full: Counter,
    write_failed: Counter,
}

static DROPS: LazyLock<Drops> = LazyLock::new(|| {
    let family = Family::<DropLabels, Counter>::default();
    let queue_full = family
        .get_or_create(&DropLabels {
            reason: "queue_full",
        })
        .clone();
    let write_failed = family
        .get_or_create(&DropLabels {
            reason: "write_failed",
        })
        .clone();
    Drops {
        family,
        queue_full,
        write_failed,
    }
});

/// The family `s3_broker_log_lines_dropped_total{reason}` (`queue_full`, `write_failed`).
pub(crate) fn dropped_lines_family() -> Family<DropLabels, Counter> {
    DROPS.family.clone()
}

fn dropped_total() -> u64 {
    DROPS.queue_full.get() + DROPS.write_failed.get()
}

/// The sending side, shared by every thread that logs.
struct LogQueue {
    sender: SyncSender<Entry>,
}

static QUEUE: OnceLock<LogQueue> = OnceLock::new();

/// Hands `entry` to the writer thread, or drops and counts it when the queue is full. Never
/// blocks. Without a queue (logging not initialised: in-process tests), does nothing.
pub(crate) fn enqueue(entry: Entry) {
    let Some(queue) = QUEUE.get() else {
        return;
    };
    match queue.sender.try_send(entry) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            DROPS.queue_full.inc();
        }
        Err(TrySendError::Disconnected(_)) => {
            DROPS.write_failed.inc();
        }
    }
}

/// Whether a queue is installed (access records are not built otherwise).
pub(crate) fn installed() -> bool {
    QUEUE.get().is_some()
}

/// Keeps the writer reachable for the life of the process; dropping it writes out what is
/// queued, waiting at most [`FLUSH_BUDGET`] (a stalled stderr cannot hold the exit).
#[must_use = "dropping the guard flushes the log queue"]
#[derive(Debug)]
pub struct LogGuard {
    _private: (),
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        flush(FLUSH_BUDGET);
    }
}

/// Waits until everything queued so far is written, at most `budget`; `false` when it was
/// not (stderr stalled, or no queue).
pub fn flush(budget: Duration) -> bool {
    let Some(queue) = QUEUE.get() else {
        return false;
    };
    let deadline = Instant::now() + budget;
    let (done, wait) = std::sync::mpsc::sync_channel(1);
    let mut entry = Entry::Flush(done);
    loop {
        match queue.sender.try_send(entry) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                entry = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return false,
        }
    }
    wait.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .is_ok()
}

/// Starts the writer thread on stderr with a queue of `lines` entries, once per process;
/// `None` when a queue is already installed (or the thread cannot start).
/// Audit records go to `audit` when given, else to stderr with the rest. On Linux, a pipe
/// under stderr is first grown to [`PIPE_BYTES`] ([`grow_pipe`]).
pub(crate) fn install(
    format: LogFormat,
    lines: usize,
    audit: Option<Box<dyn Write + Send>>,
) -> Option<LogGuard> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    grow_pipe(&std::io::stderr(), PIPE_BYTES);
    install_on(format, lines, Box::new(std::io::stderr()), audit)
}

/// Grows the pipe under `fd` to `bytes` when `fd` is a pipe with less room (never shrinks
/// one); anything else (a file, a terminal, `/dev/full`, a closed descriptor), or a refusal
/// (the user's pipe memory is used up), leaves it as it is. Answers the pipe's size, if a
/// pipe.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn grow_pipe(fd: &impl std::os::fd::AsFd, bytes: usize) -> Option<usize> {
    let size = rustix::pipe::fcntl_getpipe_size(fd).ok()?;
    if size >= bytes {
        return Some(size);
    }
    Some(rustix::pipe::fcntl_setpipe_size(fd, bytes).unwrap_or(size))
}

fn install_on(
    format: LogFormat,
    lines: usize,
    out: Box<dyn Write + Send>,
    audit: Option<Box<dyn Write + Send>>,
) -> Option<LogGuard> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(lines.max(1));
    let mut installed = false;
    QUEUE.get_or_init(|| {
        installed = true;
        LogQueue { sender }
    });
    if !installed {
        return None;
    }
    LazyLock::force(&DROPS);
    let writer = Writer {
        format,
        out,
        audit,
        reported: 0,
    };
    std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || writer.run(&receiver))
        .ok()?;
    Some(LogGuard { _private: () })
}

/// The writer thread's state.
struct Writer {
    format: LogFormat,
    out: Box<dyn Write + Send>,
    /// The audit destination, when apart from `out`.
    audit: Option<Box<dyn Write + Send>>,
    /// Drops already announced by a "log lines dropped" line.
    reported: u64,
}

impl Writer {
    fn run(mut self, receiver: &Receiver<Entry>) {
        let mut batch = Vec::with_capacity(BATCH_BYTES);
        let mut audit_batch = Vec::new();
        let mut acks = Vec::new();
        loop {
            let first = match receiver.try_recv() {
                Ok(entry) => entry,
                Err(TryRecvError::Empty) => {
                    std::thread::sleep(POLL);
                    continue;
                }
                // Every sender is gone: never, for the process-wide queue.
                Err(TryRecvError::Disconnected) => return,
            };
            let mut lines = 0u64;
            let mut audit_lines = 0u64;
            let mut next = Some(first);
            while let Some(entry) = next {
                match entry {
                    Entry::Line(line) => {
                        batch.extend_from_slice(&line);
                        lines += 1;
                    }
                    Entry::Record(record) => {
                        record.render(self.format, &mut batch);
                        lines += 1;
                    }
                    Entry::Audit(record) if self.audit.is_some() => {
                        record.render(self.format, &mut audit_batch);
                        audit_lines += 1;
                    }
                    Entry::Audit(record) => {
                        record.render(self.format, &mut batch);
                        lines += 1;
                    }
                    Entry::Flush(ack) => acks.push(ack),
                }
                next = if batch.len() < BATCH_BYTES && audit_batch.len() < BATCH_BYTES {
                    receiver.try_recv().ok()
                } else {
                    None
                };
            }
            self.write(&batch, lines);
            batch.clear();
            if let Some(audit) = self.audit.as_mut()
                && !audit_batch.is_empty()
            {
                if audit
                    .write_all(&audit_batch)
                    .and_then(|()| audit.flush())
                    .is_err()
                {
                    DROPS.write_failed.inc_by(audit_lines);
                }
                audit_batch.clear();
            }
            for ack in acks.drain(..) {
                let _ = ack.try_send(());
            }
        }
    }

    /// Writes one batch of `lines` lines, preceded by the drop notice when lines were lost
    /// since the last one; a failed write counts the batch as dropped.
    fn write(&mut self, batch: &[u8], lines: u64) {
        let dropped = dropped_total();
        if dropped > self.reported {
            let mut notice = Vec::with_capacity(200);
            render_drop_notice(self.format, dropped - self.reported, &mut notice);
            if self.out.write_all(&notice).is_ok() {
                self.reported = dropped;
            }
        }
        if batch.is_empty() {
            return;
        }
        if self
            .out
            .write_all(batch)
            .and_then(|()| self.out.flush())
            .is_err()
        {
            DROPS.write_failed.inc_by(lines);
        }
    }
}

/// The line announcing `count` lost lines.
fn render_drop_notice(format: LogFormat, count: u64, out: &mut Vec<u8>) {
    const MESSAGE: &str = "log lines dropped: stderr was too slow or failed";
    const TARGET: &str = "s3_broker::logging";
    let now = SystemTime::now();
    let mut text = String::with_capacity(200);
    match format {
        LogFormat::Json => {
            text.push_str("{\"timestamp\":\"");
            write_timestamp(&mut text, now);
            text.push_str("\",\"level\":\"WARN\",\"fields\":{\"message\":");
            write_json_str(&mut text, MESSAGE);
            text.push_str(&format!(",\"dropped\":{count}}},\"target\":"));
            write_json_str(&mut text, TARGET);
            text.push_str("}\n");
        }
        LogFormat::Text => {
            write_timestamp(&mut text, now);
            text.push_str(&format!("  WARN {TARGET}: {MESSAGE} dropped={count}\n"));
        }
    }
    out.extend_from_slice(text.as_bytes());
}

/// The writer of the tracing subscriber: each event's line goes into the queue.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QueueWriter;

impl Write for QueueWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        enqueue(Entry::Line(buf.to_vec()));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for QueueWriter {
    type Writer = QueueWriter;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that fails until told otherwise, keeping what it accepted.
    #[derive(Clone, Default)]
    struct Flaky {
        failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
        written: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    }

    impl Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The one queue of the test process: failed writes are counted, never panic, and the
    /// first write that succeeds afterwards is preceded by one notice with the count.
    #[test]
    fn failed_writes_are_counted_and_announced_once_writing_works() {
        let out = Flaky::default();
        out.failing.store(true, std::sync::atomic::Ordering::SeqCst);
        let _guard =
            install_on(LogFormat::Json, 8, Box::new(out.clone()), None).expect("first install");
        assert!(
            install(LogFormat::Json, 8, None).is_none(),
            "one queue per process"
        );
        let before = dropped_total();
        for i in 0..3 {
            enqueue(Entry::Line(format!("lost {i}\n").into_bytes()));
            assert!(flush(Duration::from_secs(5)));
        }
        assert_eq!(dropped_total() - before, 3);
        assert!(out.written.lock().unwrap().is_empty());

        out.failing
            .store(false, std::sync::atomic::Ordering::SeqCst);
        enqueue(Entry::Line(b"kept\n".to_vec()));
        assert!(flush(Duration::from_secs(5)));
        let written = String::from_utf8(out.written.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 2, "{written}");
        let notice: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(notice["level"], "WARN");
        assert!(
            notice["fields"]["dropped"].as_u64().unwrap() >= 3,
            "{notice}"
        );
        assert_eq!(lines[1], "kept");

        enqueue(Entry::Line(b"again\n".to_vec()));
        assert!(flush(Duration::from_secs(5)));
        let written = String::from_utf8(out.written.lock().unwrap().clone()).unwrap();
        assert!(
            written.ends_with("kept\nagain\n"),
            "announced once: {written}"
        );
    }

    /// A pipe grows to the size asked for, never shrinks; a file is left alone.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn only_a_smaller_pipe_grows() {
        let (reader, writer) = std::io::pipe().unwrap();
        let before = rustix::pipe::fcntl_getpipe_size(&writer).unwrap();
        assert_eq!(grow_pipe(&writer, before * 2), Some(before * 2));
        assert_eq!(
            grow_pipe(&writer, before),
            Some(before * 2),
            "never shrinks"
        );
        assert_eq!(
            rustix::pipe::fcntl_getpipe_size(&reader).unwrap(),
            before * 2
        );
        let file = tempfile::tempfile().unwrap();
        assert_eq!(grow_pipe(&file, PIPE_BYTES), None);
    }

    #[test]
    fn the_notice_is_one_line_in_each_format() {
        for format in [LogFormat::Json, LogFormat::Text] {
            let mut out = Vec::new();
            render_drop_notice(format, 42, &mut out);
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text.lines().count(), 1);
            assert!(text.ends_with('\n'));
            assert!(text.contains("42"), "{text}");
        }
    }
}
