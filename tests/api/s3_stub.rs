//! A stand-in S3 on 127.0.0.1 that speaks just enough S3 XML for the broker's multipart calls
//! (CreateMultipartUpload, ListParts, CompleteMultipartUpload, HeadObject, AbortMultipartUpload),
//! the verification of a completed object (HeadObject with its type, a ranged GetObject of
//! zero bytes, DeleteObject), its existence check (HeadObject, ListObjectsV2 of one key) and
//! its scan gate (GetObjectTagging), and can be told to misbehave on CompleteMultipartUpload:
//! hang, lose its answer, answer 500; on GetObjectTagging: deny, not implement it, hang; or to
//! answer a HEAD of a missing key with 403, as AWS does for a role without `s3:ListBucket` on
//! the whole bucket.
//! The one place a stub is right: a real server cannot be made to hang or lose an answer on
//! demand, and the test bed's servers have no IAM. Plain threads and `std::net`, so it runs beside any test runtime; it signs nothing
//! and checks no signature.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the stub does with a CompleteMultipartUpload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnComplete {
    /// Completes the upload and answers, as S3 does.
    Answer,
    /// Never answers (holds the connection).
    Hang,
    /// The first time: completes the upload, then closes the connection without a word (the
    /// answer is lost); afterwards as [`OnComplete::Answer`].
    CompleteThenDrop,
    /// The first time: completes the upload and never answers; afterwards as
    /// [`OnComplete::Answer`].
    CompleteThenHang,
    /// Answers 404 `NoSuchUpload` and touches nothing.
    NoSuchUpload,
    /// The first time: closes the connection without completing; afterwards as
    /// [`OnComplete::NoSuchUpload`] (the upload went away meanwhile).
    DropThenNoSuchUpload,
    /// Answers 500 `InternalError`.
    ServerError,
}

/// How the stub answers GetObjectTagging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnTagging {
    /// The object's tags, or 404 `NoSuchKey` (403 with `hide_missing_objects`).
    Answer,
    /// 403 `AccessDenied`: the broker's role lacks `s3:GetObjectTagging`.
    Deny,
    /// 501 `NotImplemented`, as s3s-fs answers.
    NotImplemented,
    /// Never answers.
    Hang,
}

/// The ETag of every object the stub completes.
pub(crate) const OBJECT_ETAG: &str = "\"stub-object-etag-1\"";

#[derive(Debug)]
struct State {
    on_complete: OnComplete,
    /// (part number, quoted ETag, size): what ListParts answers for every open upload.
    parts: Vec<(u16, String, u64)>,
    /// Open uploads: id → path (`/bucket/key`).
    uploads: HashMap<String, String>,
    /// Objects: path → size.
    objects: HashMap<String, u64>,
    /// The `Content-Type` of uploads and objects, by upload id or path.
    types: HashMap<String, String>,
    /// CompleteMultipartUpload requests received.
    completes: u32,
    /// Answer a HEAD of a missing object with 403 instead of 404.
    hide_missing: bool,
    /// Tags: path → (key, value) pairs.
    tags: HashMap<String, Vec<(String, String)>>,
    /// How GetObjectTagging is answered.
    on_tagging: OnTagging,
    /// HeadObject and ListObjectsV2 requests received, in order.
    reads: Vec<&'static str>,
    next_id: u32,
}

/// The running stub.
pub(crate) struct S3Stub {
    /// `http://127.0.0.1:<port>`.
    pub(crate) endpoint: String,
    state: Arc<Mutex<State>>,
}

impl S3Stub {
    /// Starts a stub whose uploads hold `parts` (part number, size), with `on_complete`.
    pub(crate) fn start(on_complete: OnComplete, parts: &[(u16, u64)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let state = Arc::new(Mutex::new(State {
            on_complete,
            parts: parts
                .iter()
                .map(|&(n, size)| (n, format!("\"part-etag-{n}\""), size))
                .collect(),
            uploads: HashMap::new(),
            objects: HashMap::new(),
            types: HashMap::new(),
            completes: 0,
            hide_missing: false,
            tags: HashMap::new(),
            on_tagging: OnTagging::Answer,
            reads: Vec::new(),
            next_id: 0,
        }));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Self { endpoint, state }
    }

    /// The ETag ListParts reports for part `n` (quoted).
    pub(crate) fn part_etag(n: u16) -> String {
        format!("\"part-etag-{n}\"")
    }

    /// Puts an object of `size` bytes at `key` of `bucket`.
    pub(crate) fn put_object(&self, bucket: &str, key: &str, size: u64) {
        let path = format!("/{bucket}/{}", encode_key(key));
        self.lock().objects.insert(path, size);
    }

    /// The size of the object at `key` of `bucket`, if there is one.
    pub(crate) fn object(&self, bucket: &str, key: &str) -> Option<u64> {
        let path = format!("/{bucket}/{}", encode_key(key));
        self.lock().objects.get(&path).copied()
    }

    /// From now on, answers a HEAD of a missing object with 403 (AWS, for a role that may not
    /// list the whole bucket).
    pub(crate) fn hide_missing_objects(&self) {
        self.lock().hide_missing = true;
    }

    /// Sets the tag `name` of the object at `key` of `bucket` to `value` (replacing its tags).
    pub(crate) fn tag_object(&self, bucket: &str, key: &str, name: &str, value: &str) {
        let path = format!("/{bucket}/{}", encode_key(key));
        self.lock()
            .tags
            .insert(path, vec![(name.to_owned(), value.to_owned())]);
    }

    /// Adds the tag `name` = `value` to the object at `key` of `bucket`, keeping its others
    /// (as a scanner that tags an object next to existing tags does).
    pub(crate) fn add_tag(&self, bucket: &str, key: &str, name: &str, value: &str) {
        let path = format!("/{bucket}/{}", encode_key(key));
        self.lock()
            .tags
            .entry(path)
            .or_default()
            .push((name.to_owned(), value.to_owned()));
    }

    /// From now on, answers GetObjectTagging as `on_tagging` says.
    pub(crate) fn on_tagging(&self, on_tagging: OnTagging) {
        self.lock().on_tagging = on_tagging;
    }

    /// The HeadObject, GetObjectTagging and ListObjectsV2 requests received so far, in order.
    pub(crate) fn reads(&self) -> Vec<&'static str> {
        self.lock().reads.clone()
    }

    /// How many CompleteMultipartUpload requests arrived.
    pub(crate) fn completes(&self) -> u32 {
        self.lock().completes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("the stub's state")
    }
}

/// A key as the SDK puts it in a path: every byte but unreserved ones and `/` encoded.
fn encode_key(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One request: method, path, query, the headers the stub reads, body.
struct Request {
    method: String,
    path: String,
    query: String,
    content_type: Option<String>,
    /// The last byte of `range: bytes=0-<last>`.
    range_end: Option<u64>,
    body: Vec<u8>,
}

/// Reads one HTTP/1.1 request; `None` at the end of the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_owned();
    let target = words.next()?.to_owned();
    let mut length = 0;
    let mut expect_continue = false;
    let (mut content_type, mut range_end) = (None, None);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "expect" => expect_continue = value.trim().eq_ignore_ascii_case("100-continue"),
            "content-type" => content_type = Some(value.trim().to_owned()),
            "range" => {
                range_end = value
                    .trim()
                    .strip_prefix("bytes=0-")
                    .and_then(|end| end.parse().ok());
            }
            _ => {}
        }
    }
    if expect_continue {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .ok()?;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        content_type,
        range_end,
        body,
    })
}

/// What to do with one request.
enum Reply {
    /// Status, body (XML) and extra headers.
    Answer(u16, String, Vec<(&'static str, String)>),
    /// Close the connection without a word.
    Drop,
    /// Hold the connection and never answer.
    Hang,
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let reply = handle(&request, &mut state.lock().expect("the stub's state"));
        let stream = reader.get_mut();
        match reply {
            Reply::Drop => return,
            Reply::Hang => {
                // Longer than any test; the test process ends first.
                std::thread::sleep(Duration::from_secs(300));
                return;
            }
            Reply::Answer(status, body, headers) => {
                let mut head = format!("HTTP/1.1 {status} Stub\r\n");
                let length = headers
                    .iter()
                    .find(|(name, _)| *name == "content-length")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| body.len().to_string());
                head.push_str(&format!("content-length: {length}\r\n"));
                for (name, value) in headers.iter().filter(|(n, _)| *n != "content-length") {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                if !body.is_empty() {
                    head.push_str("content-type: application/xml\r\n");
                }
                head.push_str("\r\n");
                let sent = stream
                    .write_all(head.as_bytes())
                    .and_then(|()| stream.write_all(body.as_bytes()));
                if sent.is_err() {
                    return;
                }
            }
        }
    }
}

fn xml(status: u16, body: String) -> Reply {
    Reply::Answer(status, body, Vec::new())
}

fn error(status: u16, code: &str) -> Reply {
    xml(
        status,
        format!("<Error><Code>{code}</Code><Message>stub: {code}</Message></Error>"),
    )
}

/// The value of `name` in a query string.
fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

fn handle(request: &Request, state: &mut State) -> Reply {
    let upload_id = param(&request.query, "uploadId").map(str::to_owned);
    match (request.method.as_str(), upload_id) {
        ("POST", None) if param(&request.query, "uploads").is_some() => {
            state.next_id += 1;
            let id = format!("stub-upload-{}", state.next_id);
            state.uploads.insert(id.clone(), request.path.clone());
            if let Some(content_type) = &request.content_type {
                state.types.insert(id.clone(), content_type.clone());
            }
            xml(
                200,
                format!(
                    "<InitiateMultipartUploadResult><UploadId>{id}</UploadId>\
                     </InitiateMultipartUploadResult>"
                ),
            )
        }
        ("GET", Some(id)) => match state.uploads.get(&id) {
            Some(_) => {
                let parts: String = state
                    .parts
                    .iter()
                    .map(|(n, etag, size)| {
                        format!(
                            "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag>\
                             <Size>{size}</Size></Part>",
                            etag.replace('"', "&quot;")
                        )
                    })
                    .collect();
                xml(
                    200,
                    format!(
                        "<ListPartsResult><UploadId>{id}</UploadId>\
                         <IsTruncated>false</IsTruncated>{parts}</ListPartsResult>"
                    ),
                )
            }
            None => error(404, "NoSuchUpload"),
        },
        ("POST", Some(id)) => complete(request, state, &id),
        ("DELETE", Some(id)) => {
            state.uploads.remove(&id);
            Reply::Answer(204, String::new(), Vec::new())
        }
        ("GET", None) if param(&request.query, "tagging").is_some() => {
            state.reads.push("GetObjectTagging");
            tagging(request, state)
        }
        ("GET", None) if param(&request.query, "list-type") == Some("2") => {
            state.reads.push("ListObjectsV2");
            list_objects(request, state)
        }
        ("HEAD", None) => {
            state.reads.push("HeadObject");
            match state.objects.get(&request.path) {
                Some(size) => {
                    let mut headers = vec![
                        ("content-length", size.to_string()),
                        ("etag", OBJECT_ETAG.to_owned()),
                    ];
                    if let Some(content_type) = state.types.get(&request.path) {
                        headers.push(("content-type", content_type.clone()));
                    }
                    Reply::Answer(200, String::new(), headers)
                }
                None if state.hide_missing => Reply::Answer(403, String::new(), Vec::new()),
                None => Reply::Answer(404, String::new(), Vec::new()),
            }
        }
        ("GET", None) => match state.objects.get(&request.path) {
            Some(&size) => {
                let end = request.range_end.unwrap_or(u64::MAX).min(size.max(1) - 1);
                let zeros = "\0".repeat(usize::try_from(end + 1).unwrap_or(0));
                let range = format!("bytes 0-{end}/{size}");
                let headers = vec![("content-range", range), ("etag", OBJECT_ETAG.to_owned())];
                Reply::Answer(206, zeros, headers)
            }
            None => error(404, "NoSuchKey"),
        },
        ("DELETE", None) => {
            state.objects.remove(&request.path);
            Reply::Answer(204, String::new(), Vec::new())
        }
        _ => error(400, "NotImplementedByTheStub"),
    }
}

/// GetObjectTagging of the object in the path.
fn tagging(request: &Request, state: &State) -> Reply {
    match state.on_tagging {
        OnTagging::Deny => return error(403, "AccessDenied"),
        OnTagging::NotImplemented => return error(501, "NotImplemented"),
        OnTagging::Hang => return Reply::Hang,
        OnTagging::Answer => {}
    }
    if !state.objects.contains_key(&request.path) {
        return match state.hide_missing {
            true => error(403, "AccessDenied"),
            false => error(404, "NoSuchKey"),
        };
    }
    let tags: String = state
        .tags
        .get(&request.path)
        .into_iter()
        .flatten()
        .map(|(key, value)| format!("<Tag><Key>{key}</Key><Value>{value}</Value></Tag>"))
        .collect();
    xml(200, format!("<Tagging><TagSet>{tags}</TagSet></Tagging>"))
}

/// ListObjectsV2 of the bucket in the path, under `prefix`, at most `max-keys` keys.
fn list_objects(request: &Request, state: &State) -> Reply {
    let prefix = decode(param(&request.query, "prefix").unwrap_or_default());
    let max: usize = param(&request.query, "max-keys")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let under = format!(
        "{}/{}",
        request.path.trim_end_matches('/'),
        encode_key(&prefix)
    );
    let mut keys: Vec<String> = state
        .objects
        .keys()
        .filter(|path| path.starts_with(&under))
        .map(|path| decode(&path[request.path.trim_end_matches('/').len() + 1..]))
        .collect();
    keys.sort();
    let contents: String = keys
        .iter()
        .take(max)
        .map(|key| format!("<Contents><Key>{key}</Key><Size>1</Size></Contents>"))
        .collect();
    xml(
        200,
        format!(
            "<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>{}</KeyCount>\
             {contents}</ListBucketResult>",
            keys.len().min(max)
        ),
    )
}

/// Percent-decodes a path or query value.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], text.get(i + 1..i + 3)) {
            (b'%', Some(hex)) if u8::from_str_radix(hex, 16).is_ok() => {
                out.push(u8::from_str_radix(hex, 16).unwrap_or_default());
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn complete(request: &Request, state: &mut State, id: &str) -> Reply {
    state.completes += 1;
    let first = state.completes == 1;
    match state.on_complete {
        OnComplete::Hang => return Reply::Hang,
        OnComplete::NoSuchUpload => return error(404, "NoSuchUpload"),
        OnComplete::DropThenNoSuchUpload if first => return Reply::Drop,
        OnComplete::DropThenNoSuchUpload => return error(404, "NoSuchUpload"),
        OnComplete::ServerError => return error(500, "InternalError"),
        _ => {}
    }
    let Some(path) = state.uploads.remove(id) else {
        return error(404, "NoSuchUpload");
    };
    let body = String::from_utf8_lossy(&request.body);
    let size = state
        .parts
        .iter()
        .filter(|(n, _, _)| body.contains(&format!("<PartNumber>{n}</PartNumber>")))
        .map(|(_, _, size)| size)
        .sum();
    state.objects.insert(path.clone(), size);
    if let Some(content_type) = state.types.remove(id) {
        state.types.insert(path.clone(), content_type);
    }
    match state.on_complete {
        OnComplete::CompleteThenDrop if first => Reply::Drop,
        OnComplete::CompleteThenHang if first => Reply::Hang,
        _ => xml(
            200,
            format!(
                "<CompleteMultipartUploadResult><Location>http://stub{path}</Location>\
                 <ETag>{}</ETag></CompleteMultipartUploadResult>",
                OBJECT_ETAG.replace('"', "&quot;")
            ),
        ),
    }
}
