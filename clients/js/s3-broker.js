// s3-broker JavaScript client: ESM, no dependencies, for browsers and React Native.
//
// It asks the broker for grants and sends the bytes straight to S3: a presigned PUT, a POST
// form or a multipart upload (chosen from the size and the profile), with the checksum the
// profile wants, progress events, retried parts, cancellation and resumption of multipart
// uploads from their ticket. Types: s3-broker.d.ts. Documentation: README.md.

/** Parts smaller than this are never used by S3 (except the last one). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Files from this size on go in parts, unless `multipartThreshold` says otherwise. */
const DEFAULT_MULTIPART_THRESHOLD = 16 * 1024 * 1024;
/** Part URLs signed per `POST /v1/multipart/parts` call. */
const SIGN_BATCH = 16;

/** An error of the broker (problem+json), of S3, of the network, or a cancellation. */
export class S3BrokerError extends Error {
  constructor(message, { status = 0, code = "network", detail, problem, cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = "S3BrokerError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.problem = problem;
  }
}

/** Whether `error` is the cancellation of an upload (its `signal` was aborted). */
export function isAbort(error) {
  return error instanceof S3BrokerError && error.code === "aborted";
}

// ---- checksums ---------------------------------------------------------------------------

function crcTable(polynomial) {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}
const CRC_TABLES = {};

/** CRC-32 (`CRC32`, polynomial 0xEDB88320) or CRC-32C (`CRC32C`, 0x82F63B78) of `bytes`. */
export function crc(algorithm, bytes) {
  const polynomial = algorithm === "CRC32C" ? 0x82f63b78 : 0xedb88320;
  const table = (CRC_TABLES[algorithm] ??= crcTable(polynomial));
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

async function bytesOf(blob) {
  return new Uint8Array(await blob.arrayBuffer());
}

/**
 * The base64 checksum of `blob` with `algorithm` (`SHA256` with WebCrypto, `CRC32` or
 * `CRC32C` computed here), as S3 expects it in `x-amz-checksum-*`.
 */
export async function checksumOf(algorithm, blob) {
  const bytes = await bytesOf(blob);
  if (algorithm === "SHA256") {
    const subtle = globalThis.crypto && globalThis.crypto.subtle;
    if (!subtle) throw new S3BrokerError("SHA-256 needs WebCrypto (crypto.subtle): use a secure context (https or localhost), or CRC32", { code: "checksum_unavailable" });
    return base64(new Uint8Array(await subtle.digest("SHA-256", bytes)));
  }
  if (algorithm === "CRC32" || algorithm === "CRC32C") {
    const value = crc(algorithm, bytes);
    return base64(new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]));
  }
  throw new S3BrokerError(`unsupported checksum algorithm ${algorithm}`, { code: "invalid_checksum_algorithm" });
}

const CHECKSUM_FIELD = { SHA256: "checksum_sha256", CRC32: "checksum_crc32", CRC32C: "checksum_crc32c" };

// ---- transport ---------------------------------------------------------------------------

function aborted(signal) {
  return new S3BrokerError("the upload was cancelled", { code: "aborted", cause: signal && signal.reason });
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(aborted(signal));
    const timer = setTimeout(resolve, ms);
    signal && signal.addEventListener("abort", () => { clearTimeout(timer); reject(aborted(signal)); }, { once: true });
  });
}

/** The text of an S3 XML error (`<Code>` and `<Message>`), for messages. */
function s3ErrorText(body) {
  const pick = (tag) => { const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body || ""); return m ? m[1] : ""; };
  const code = pick("Code");
  return code ? `${code}${pick("Message") ? ": " + pick("Message") : ""}` : "";
}

/**
 * Sends `body` to S3 with XHR where there is one (browsers, React Native: upload progress),
 * else fetch. Resolves `{status, headers(name), text}`; rejects on network errors and aborts.
 */
function send(method, url, { headers = {}, body, signal, onProgress } = {}) {
  if (signal && signal.aborted) return Promise.reject(aborted(signal));
  if (typeof XMLHttpRequest === "function") {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      for (const [name, value] of Object.entries(headers)) {
        // Browsers set Content-Length from the body and refuse it as a header.
        if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);
      }
      if (onProgress && xhr.upload) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      const onAbort = () => xhr.abort();
      signal && signal.addEventListener("abort", onAbort, { once: true });
      const done = () => signal && signal.removeEventListener("abort", onAbort);
      xhr.onload = () => {
        done();
        resolve({ status: xhr.status, header: (n) => xhr.getResponseHeader(n), text: xhr.responseText });
      };
      xhr.onerror = () => { done(); reject(new S3BrokerError(`${method} to the store failed: network error or CORS refusal`)); };
      xhr.onabort = () => { done(); reject(aborted(signal)); };
      xhr.send(body === undefined ? null : body);
    });
  }
  const init = { method, headers: Object.fromEntries(Object.entries(headers).filter(([n]) => n.toLowerCase() !== "content-length")), body, signal };
  return fetch(url, init).then(
    async (r) => {
      const text = await r.text();
      if (onProgress && body && body.size !== undefined) onProgress(body.size);
      return { status: r.status, header: (n) => r.headers.get(n), text };
    },
    (e) => { throw signal && signal.aborted ? aborted(signal) : new S3BrokerError(`${method} to the store failed: ${e.message}`, { cause: e }); },
  );
}

function storeError(what, reply) {
  const detail = s3ErrorText(reply.text);
  return new S3BrokerError(`the store refused ${what} (HTTP ${reply.status}${detail ? ", " + detail : ""})`, { status: reply.status, code: "store_refused", detail });
}

// ---- the client --------------------------------------------------------------------------

/** A client of one broker, for one caller. */
export class S3BrokerClient {
  /**
   * @param {object} options `baseUrl` of the broker; `token` (a bearer token), or
   *   `getToken()` (sync or async, called for every request), or `apiKey`; `fetch` to use
   *   instead of the global one; `retries` per part (default 3); `multipartThreshold`.
   */
  constructor({ baseUrl, token, getToken, apiKey, fetch: fetchImpl, retries = 3, multipartThreshold = DEFAULT_MULTIPART_THRESHOLD } = {}) {
    if (!baseUrl) throw new TypeError("baseUrl is required");
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    this.getToken = getToken || (token ? () => token : null);
    this.apiKey = apiKey;
    this.fetch = fetchImpl || ((...a) => globalThis.fetch(...a));
    this.retries = retries;
    this.multipartThreshold = multipartThreshold;
    this._features = null;
  }

  async _headers(json) {
    const headers = { Accept: "application/json, application/problem+json" };
    if (json) headers["Content-Type"] = "application/json";
    if (this.getToken) headers.Authorization = `Bearer ${await this.getToken()}`;
    else if (this.apiKey) headers["X-Api-Key"] = this.apiKey;
    return headers;
  }

  /** Calls the broker; resolves the JSON answer (or null for 204), rejects with its problem. */
  async request(method, path, body, { signal } = {}) {
    let response;
    try {
      response = await this.fetch(this.baseUrl + path, {
        method,
        headers: await this._headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (signal && signal.aborted) throw aborted(signal);
      throw new S3BrokerError(`the broker at ${this.baseUrl} cannot be reached (${e.message})`, { cause: e });
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (!response.ok) {
      const problem = json && typeof json === "object" ? json : null;
      const code = (problem && problem.code) || `http_${response.status}`;
      const detail = problem && (problem.detail || problem.title);
      throw new S3BrokerError(detail || `the broker answered HTTP ${response.status}`, { status: response.status, code, detail, problem });
    }
    return json;
  }

  /** What this broker offers, from its `/openapi.json` (read once). */
  async features() {
    if (!this._features) {
      this._features = this.fetch(this.baseUrl + "/openapi.json")
        .then((r) => (r.ok ? r.json() : { paths: {} }))
        .then((spec) => ({ verify: Boolean(spec.paths && spec.paths["/v1/uploads/verify"]) }))
        .catch(() => ({ verify: false }));
    }
    return this._features;
  }

  /**
   * Uploads `file` (a Blob or File; in React Native a Blob from `fetch(uri).blob()`).
   * Options: `filename`, `contentType`, `path`, `metadata`, `profile`, `method` (`PUT` or
   * `POST`, default: the profile's), `checksum` (`auto` (default: none unless the profile
   * requires one, then SHA256), `SHA256`, `CRC32`, `CRC32C` or `none`), `multipart` (true,
   * false, default: from the size), `partSize`, `signal` (an AbortSignal: cancels, keeping a
   * multipart upload resumable), `onProgress({loaded, total})`, `onTicket(ticket)` (a
   * multipart upload's resumable state, JSON: save it to resume later or elsewhere),
   * `onPart({partNumber, etag})`.
   * Resolves `{key, bucket, size, method, etag?}`.
   */
  async upload(file, options = {}) {
    const size = file.size;
    const filename = options.filename || file.name;
    if (!filename) throw new TypeError("a filename is required (the file has no name)");
    const contentType = options.contentType || file.type || "application/octet-stream";
    const wantsParts = options.multipart ?? size >= this.multipartThreshold;
    const common = { filename, contentType, size, options };
    let result;
    if (wantsParts && size > 0) {
      try {
        result = await this._multipart(file, common);
      } catch (e) {
        // The profile does not allow multipart uploads: one request, when S3 can take it.
        if (e.code !== "upload_method_not_allowed" || options.multipart === true) throw e;
        result = await this._single(file, common);
      }
    } else {
      try {
        result = await this._single(file, common);
      } catch (e) {
        if (e.code !== "multipart_required" || options.multipart === false) throw e;
        result = await this._multipart(file, common);
      }
    }
    await this._verify(result, options);
    return result;
  }

  /**
   * Where the broker offers `POST /v1/uploads/verify` and the grant carried its sealed
   * `upload` token, asks the broker to compare what S3 holds with the grant (a mismatch
   * rejects with `upload_mismatch`); otherwise does nothing.
   */
  async _verify(result, options) {
    const token = result.uploadToken;
    delete result.uploadToken;
    if (!token || !(await this.features()).verify) return;
    result.verified = await this.request("POST", "/v1/uploads/verify", { upload: token }, { signal: options.signal });
  }

  /** The algorithm to use, asking the broker again with SHA256 when it requires one. */
  async _withChecksum(options, ask) {
    const wanted = (options.checksum || "auto").toUpperCase();
    if (wanted !== "AUTO") return ask(wanted === "NONE" ? null : wanted);
    try {
      return await ask(null);
    } catch (e) {
      if (e.code !== "checksum_required") throw e;
      return ask("SHA256");
    }
  }

  async _single(file, { filename, contentType, size, options }) {
    const { signal, onProgress } = options;
    const grant = await this._withChecksum(options, async (algorithm) => {
      const body = { filename, content_type: contentType, size };
      for (const name of ["path", "profile", "method"]) if (options[name]) body[name] = options[name];
      if (options.metadata) body.metadata = options.metadata;
      if (algorithm) body[CHECKSUM_FIELD[algorithm]] = await checksumOf(algorithm, file);
      return this.request("POST", "/v1/uploads", body, { signal });
    });
    const progress = (loaded) => onProgress && onProgress({ loaded: Math.min(loaded, size), total: size });
    let reply;
    if (grant.method === "POST") {
      const form = new FormData();
      for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
      form.append("file", file, filename); // last
      reply = await send("POST", grant.url, { body: form, signal, onProgress: progress });
    } else {
      reply = await send("PUT", grant.url, { headers: grant.headers, body: file, signal, onProgress: progress });
    }
    if (reply.status < 200 || reply.status >= 300) throw storeError(`the ${grant.method}`, reply);
    progress(size);
    const etag = reply.header("ETag") || undefined;
    return { key: grant.key, bucket: grant.bucket, size, method: grant.method, etag, uploadToken: grant.upload };
  }

  async _multipart(file, { filename, contentType, size, options }) {
    const ticket = await this._withChecksum(options, async (algorithm) => {
      const body = { filename, content_type: contentType, size };
      for (const name of ["path", "profile"]) if (options[name]) body[name] = options[name];
      if (options.metadata) body.metadata = options.metadata;
      if (options.partSize) body.part_size = Math.max(options.partSize, MIN_PART_SIZE);
      if (algorithm) body.checksum_algorithm = algorithm;
      const created = await this.request("POST", "/v1/multipart", body, { signal: options.signal });
      return { ...created, checksum_algorithm: algorithm, size };
    });
    options.onTicket && options.onTicket(ticket);
    return this._sendParts(file, ticket, new Map(), options);
  }

  /**
   * Resumes the multipart upload of `ticket` (what `onTicket` gave, possibly on another
   * device) with the same `file`: asks the broker which parts S3 holds, sends the others and
   * completes. Options as for `upload` (`signal`, `onProgress`, `onPart`).
   */
  async resume(file, ticket, options = {}) {
    if (!ticket || !ticket.upload) throw new TypeError("a ticket from onTicket is required");
    if (file.size !== ticket.size) throw new S3BrokerError(`this file has ${file.size} bytes, the upload ${ticket.size}: not the same file`, { code: "size_mismatch" });
    const held = await this.request("GET", `/v1/multipart/parts?upload=${encodeURIComponent(ticket.upload)}`, undefined, { signal: options.signal });
    const done = new Map();
    for (const part of held.parts) {
      const expected = part.part_number < ticket.part_count ? ticket.part_size : ticket.size - (ticket.part_count - 1) * ticket.part_size;
      if (!part.etag || part.size !== expected) continue; // sent again
      let checksum = part.checksum;
      if (ticket.checksum_algorithm && !checksum) {
        // Stores that list no checksum: the part's bytes are the file's, S3 verified them.
        const start = (part.part_number - 1) * ticket.part_size;
        checksum = await checksumOf(ticket.checksum_algorithm, file.slice(start, start + part.size));
      }
      done.set(part.part_number, { etag: part.etag, checksum });
    }
    return this._sendParts(file, ticket, done, options);
  }

  /** Aborts the multipart upload of `ticket`: S3 drops its parts. */
  async abort(ticket, { signal } = {}) {
    await this.request("POST", "/v1/multipart/abort", { upload: ticket.upload }, { signal });
  }

  async _sendParts(file, ticket, done, options) {
    const { signal, onProgress, onPart } = options;
    const { part_size: partSize, part_count: count, size } = ticket;
    const slice = (n) => file.slice((n - 1) * partSize, Math.min(n * partSize, size));
    const sent = new Map(); // part number → bytes sent so far
    for (const [n] of done) sent.set(n, slice(n).size);
    const progress = () => {
      if (!onProgress) return;
      let loaded = 0;
      for (const v of sent.values()) loaded += v;
      onProgress({ loaded, total: size });
    };
    progress();
    const missing = [];
    for (let n = 1; n <= count; n++) if (!done.has(n)) missing.push(n);
    const algorithm = ticket.checksum_algorithm;
    for (let i = 0; i < missing.length; i += SIGN_BATCH) {
      const batch = missing.slice(i, i + SIGN_BATCH);
      const checksums = {};
      if (algorithm) for (const n of batch) checksums[n] = await checksumOf(algorithm, slice(n));
      const body = { upload: ticket.upload, part_numbers: batch };
      if (algorithm) body.checksums = checksums;
      const signed = await this.request("POST", "/v1/multipart/parts", body, { signal });
      for (const part of signed.parts) {
        const n = part.part_number;
        const etag = await this._sendPart(part, slice(n), signal, (loaded) => { sent.set(n, loaded); progress(); });
        done.set(n, { etag, checksum: algorithm ? checksums[n] : undefined });
        sent.set(n, part.size);
        progress();
        onPart && onPart({ partNumber: n, etag });
      }
    }
    const parts = [];
    for (let n = 1; n <= count; n++) {
      const { etag, checksum } = done.get(n);
      parts.push(checksum ? { part_number: n, etag, checksum } : { part_number: n, etag });
    }
    const completed = await this.request("POST", "/v1/multipart/complete", { upload: ticket.upload, parts }, { signal });
    const result = { key: completed.key, bucket: completed.bucket, size: completed.size, method: "multipart", etag: completed.etag };
    // The broker verified the assembled object at completion (brokers that do answer its receipt).
    if (completed.receipt) result.verified = { receipt: completed.receipt, object: completed.object };
    return result;
  }

  /** PUTs one part, retrying network errors and 5xx with a growing pause; resolves its ETag. */
  async _sendPart(part, bytes, signal, onProgress) {
    for (let attempt = 0; ; attempt++) {
      let failure;
      try {
        const reply = await send("PUT", part.url, { headers: part.headers, body: bytes, signal, onProgress });
        if (reply.status >= 200 && reply.status < 300) {
          const etag = reply.header("ETag");
          if (!etag) throw new S3BrokerError("the store's answer hides the part's ETag: its CORS rules must expose ETag", { code: "etag_hidden" });
          return etag;
        }
        failure = storeError(`part ${part.part_number}`, reply);
        if (reply.status < 500 && reply.status !== 408 && reply.status !== 429) throw failure;
      } catch (e) {
        if (isAbort(e) || e.code === "etag_hidden" || e.code === "store_refused") throw e;
        failure = e;
      }
      if (attempt >= this.retries) throw failure;
      onProgress(0);
      await sleep(Math.min(250 * 2 ** attempt, 4000), signal);
    }
  }

  /**
   * A download grant for `key` (`{url, key, expires_at, ...}`); options `disposition`
   * (`attachment` or `inline`) and `filename`. Fetch `url` for the bytes.
   */
  async download(key, options = {}) {
    const body = { key };
    if (options.disposition) body.disposition = options.disposition;
    if (options.filename) body.filename = options.filename;
    return this.request("POST", "/v1/downloads", body, { signal: options.signal });
  }

  /**
   * One page of the caller's files and folders under `prefix` (default: the namespace root):
   * `{prefix, namespace, files, folders, next_cursor?}`. Options `cursor`, `profile`.
   */
  async list(prefix, options = {}) {
    const query = new URLSearchParams();
    if (prefix) query.set("prefix", prefix);
    if (options.cursor) query.set("cursor", options.cursor);
    if (options.profile) query.set("profile", options.profile);
    const qs = query.toString();
    return this.request("GET", `/v1/objects${qs ? "?" + qs : ""}`, undefined, { signal: options.signal });
  }

  /**
   * A POST policy for an HTML form rendered before the file is chosen (`POST /v1/forms`):
   * options `contentType`, `path`, `metadata`, `profile`, `redirect`, `successActionStatus`.
   */
  async form(options = {}) {
    const body = {};
    if (options.contentType) body.content_type = options.contentType;
    for (const name of ["path", "profile", "metadata", "redirect"]) if (options[name]) body[name] = options[name];
    if (options.successActionStatus) body.success_action_status = options.successActionStatus;
    return this.request("POST", "/v1/forms", body, { signal: options.signal });
  }
}

/** Turns an error of this client into one sentence for a person. */
export function describeError(error) {
  if (!(error instanceof S3BrokerError)) return `Something went wrong: ${error && error.message ? error.message : error}.`;
  const sentences = {
    aborted: "The upload was cancelled.",
    network: "The service cannot be reached; check your connection and try again.",
    missing_credentials: "You are not signed in.",
    invalid_token: "Your session has expired; sign in again.",
    insufficient_scope: "You are not allowed to do this.",
    not_owner: "This is outside your own files.",
    size_out_of_range: "This file is too large or too small for this upload.",
    content_type_not_allowed: "Files of this type are not accepted here.",
    invalid_filename: "This file name cannot be used; rename the file and try again.",
    object_exists: "A file with this name already exists.",
    object_not_found: "This file no longer exists.",
    ticket_expired: "This upload has expired; start it again.",
    s3_unavailable: "The storage is not answering right now; try again in a moment.",
    credentials_unavailable: "The service cannot sign uploads right now; try again in a moment.",
    etag_hidden: "The storage hides the answers this upload needs (its CORS rules must expose ETag).",
  };
  const base = sentences[error.code];
  if (base) return base;
  const detail = error.detail || error.message;
  const text = detail.charAt(0).toUpperCase() + detail.slice(1);
  return /[.!?]$/.test(text) ? text : text + ".";
}
