//! Test support: the lines a subscriber writes, captured in memory.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// An in-memory writer; clones share the bytes.
#[derive(Clone, Default)]
pub(crate) struct Sink(Arc<Mutex<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the subscriber `make` builds around a [`Sink`] writes while `f` runs (it is the
/// thread's default subscriber meanwhile).
pub(crate) fn captured<S>(make: impl FnOnce(Sink) -> S, f: impl FnOnce()) -> String
where
    S: tracing::Subscriber + Send + Sync + 'static,
{
    let sink = Sink::default();
    tracing::subscriber::with_default(make(sink.clone()), f);
    let bytes = sink
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    String::from_utf8(bytes).expect("UTF-8 lines")
}

/// The JSON lines of `text`.
pub(crate) fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// `f` run inside the request scope of `id`, on a current-thread runtime.
pub(crate) fn in_request(id: &str, f: impl FnOnce()) {
    let id = super::RequestId::parse(id.as_bytes()).expect("a well-formed id");
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(super::request_scope::within(id, async { f() }));
}
