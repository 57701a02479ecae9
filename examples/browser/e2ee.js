// End-to-end encryption in the browser with s3-broker grants. No build step, no dependency:
// WebCrypto (AES-256-GCM, SHA-256) and fetch.
//
// Stored format: a random 12-byte (96-bit) IV, then AES-GCM's output (ciphertext followed by
// its 16-byte tag). The object is uploaded as application/octet-stream under a neutral file
// name, so neither its content nor its name reaches the broker or S3. The key is made here and
// is never sent anywhere.
"use strict";

const IV_BYTES = 12;
const TAG_BYTES = 16;

const $ = (id) => document.getElementById(id);

function show(id, text) {
  $(id).textContent = text;
}

// base64 of bytes, and back (the key, the checksum).
function toBase64(bytes) {
  let binary = "";
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text.trim());
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// --------------------------------------------------------------------------- the broker

function broker() {
  const url = $("broker").value.trim().replace(/\/+$/, "");
  const token = $("token").value.trim();
  if (!url || !token) throw new Error("enter the broker URL and a token first");
  return { url, token };
}

// Calls the broker's JSON API; its errors are application/problem+json with a `detail`.
async function api(path, body) {
  const { url, token } = broker();
  const response = await fetch(url + path, {
    method: "POST",
    headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`${path}: ${response.status} ${json.code || ""} ${json.detail || ""}`.trim());
  }
  return json;
}

// ----------------------------------------------------------------------------- crypto

async function encrypt(key, plaintext) {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, plaintext));
  const stored = new Uint8Array(IV_BYTES + sealed.length);
  stored.set(iv, 0);
  stored.set(sealed, IV_BYTES);
  return stored;
}

async function decrypt(key, stored) {
  if (stored.length < IV_BYTES + TAG_BYTES) throw new Error("the object is too short to be ours");
  const iv = stored.subarray(0, IV_BYTES);
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, stored.subarray(IV_BYTES)),
    );
  } catch {
    // GCM's tag did not verify: another key, or bytes changed since they were encrypted.
    throw new Error("decryption failed: wrong key, or the stored bytes were altered");
  }
}

// ------------------------------------------------------------------------------ S3 I/O

// PUTs `body` with a PUT grant, sending exactly the headers the grant lists. The browser
// computes Content-Length from the body itself (fetch may not set it), and the body has
// exactly the size the grant was signed for.
async function upload(grant, body) {
  if (grant.method !== "PUT") throw new Error("expected a PUT grant, got " + grant.method);
  const headers = {};
  for (const [name, value] of Object.entries(grant.headers || {})) {
    if (name === "content-length") {
      if (Number(value) !== body.length) throw new Error("the grant is for another size");
    } else {
      headers[name] = value;
    }
  }
  const response = await fetch(grant.url, { method: "PUT", headers, body });
  if (!response.ok) throw new Error("S3 refused the upload: " + response.status);
}

async function downloadObject(key) {
  const grant = await api("/v1/downloads", { key });
  const response = await fetch(grant.url);
  if (!response.ok) throw new Error("S3 refused the download: " + response.status);
  return new Uint8Array(await response.arrayBuffer());
}

// ------------------------------------------------------------------------------- the flow

// What the last run did, for the curious (and for tests): bytes stay in this tab.
window.e2eeDemo = { last: null };

function offerDownload(linkId, bytes, name) {
  const link = $(linkId);
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  link.download = name;
  link.hidden = false;
}

async function run() {
  const file = $("file").files[0];
  if (!file) throw new Error("choose a file first");
  for (const id of ["object-key", "key", "stored-size", "original-sha256", "stored-sha256",
    "decrypted-sha256", "verdict"]) show(id, "");
  $("verdict").className = "";
  $("save-key").hidden = true;
  $("decrypted-link").hidden = true;

  const exportable = $("exportable").checked;
  show("status", "Generating a key...");
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, exportable, [
    "encrypt",
    "decrypt",
  ]);
  if (exportable) {
    const raw = toBase64(await crypto.subtle.exportKey("raw", key));
    show("key", raw);
    $("save-key").hidden = false;
    $("save-key").onclick = () => offerKey(raw);
  } else {
    show("key", "(non-extractable: it lives only in this tab)");
  }

  show("status", "Encrypting...");
  const plaintext = new Uint8Array(await file.arrayBuffer());
  show("original-sha256", hex(await sha256(plaintext)));
  const stored = await encrypt(key, plaintext);
  show("stored-size", `${stored.length} bytes (${plaintext.length} + ${IV_BYTES} + ${TAG_BYTES})`);
  show("stored-sha256", hex(await sha256(stored)));

  show("status", "Asking the broker for a grant...");
  const grant = await api("/v1/uploads", {
    filename: "encrypted.bin",
    content_type: "application/octet-stream",
    size: stored.length,
    method: "PUT",
    // S3 refuses any other bytes than these (x-amz-checksum-sha256 is signed).
    checksum_sha256: toBase64(await sha256(stored)),
  });
  show("object-key", grant.key);

  show("status", "Uploading the ciphertext to S3...");
  await upload(grant, stored);

  show("status", "Downloading it back...");
  const fetched = await downloadObject(grant.key);
  show("status", "Decrypting...");
  const decrypted = await decrypt(key, fetched);
  const same = hex(await sha256(decrypted));
  show("decrypted-sha256", same);
  const match = same === $("original-sha256").textContent;
  show("verdict", match ? "match: the decrypted file equals the original" : "MISMATCH");
  $("verdict").className = match ? "match" : "mismatch";
  offerDownload("decrypted-link", decrypted, file.name);
  window.e2eeDemo.last = { key: grant.key, plaintext, stored, fetched, decrypted };
  $("restore-object").value = grant.key;
  show("status", match ? "Done." : "Done, but the result differs.");
}

function offerKey(raw) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([raw + "\n"], { type: "text/plain" }));
  link.download = "s3-broker-e2ee-key.txt";
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function restore() {
  show("restore-sha256", "");
  const objectKey = $("restore-object").value.trim();
  const raw = fromBase64($("restore-key").value);
  if (raw.length !== 32) throw new Error("the key must be 32 bytes of base64");
  // Imported non-extractable: it can decrypt, and cannot be read back out of this tab.
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
  show("restore-status", "Downloading...");
  const fetched = await downloadObject(objectKey);
  show("restore-status", "Decrypting...");
  const decrypted = await decrypt(key, fetched);
  show("restore-sha256", hex(await sha256(decrypted)));
  window.e2eeDemo.restored = decrypted;
  show("restore-status", "Decrypted " + decrypted.length + " bytes.");
}

// Errors are shown on the page, prefixed with "Failed:".
function guarded(statusId, action) {
  return async () => {
    try {
      await action();
    } catch (err) {
      show(statusId, "Failed: " + err.message);
    }
  };
}

// ?token=...&broker=... prefill the fields (handy with `s3-broker dev`; the token then sits in
// this tab's history, so only do this with short-lived dev tokens).
const params = new URLSearchParams(location.search);
if (params.get("broker")) $("broker").value = params.get("broker");
if (params.get("token")) $("token").value = params.get("token");
if (!window.isSecureContext || !crypto.subtle) {
  show("status", "Failed: WebCrypto needs a secure context (https://, or http://127.0.0.1 / localhost)");
}
$("run").addEventListener("click", guarded("status", run));
$("restore-run").addEventListener("click", guarded("restore-status", restore));
