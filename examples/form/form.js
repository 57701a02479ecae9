// Fills the plain form of index.html with a POST policy of the broker (`POST /v1/forms`) whose
// redirect comes back to this page, and confirms an upload when S3 has sent the browser back.
// The broker and token come from `?broker=...&token=...` the first time and are kept in
// sessionStorage, since S3's redirect brings back only bucket, key and etag.

const params = new URLSearchParams(location.search);
for (const name of ["broker", "token"]) {
  if (params.get(name)) sessionStorage.setItem(`s3-broker-${name}`, params.get(name));
}
const broker = sessionStorage.getItem("s3-broker-broker") || "http://127.0.0.1:8080";
const token = sessionStorage.getItem("s3-broker-token") || "";
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const response = await fetch(`${broker}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(json.detail || json.title || `HTTP ${response.status}`);
  return json;
}

async function confirm(key, etag) {
  const name = key.split("/").pop().replace(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-/, "");
  const box = $("confirmation");
  box.textContent = `Uploaded ${name} (ETag ${etag}). `;
  const link = document.createElement("a");
  link.textContent = "Download it";
  link.id = "download";
  box.append(link);
  box.hidden = false;
  link.href = (await api("/v1/downloads", { key })).url;
}

async function prepare() {
  // The redirect: this page, without its query (S3 adds bucket, key and etag).
  const redirect = location.origin + location.pathname;
  const grant = await api("/v1/forms", { content_type: "application/octet-stream", redirect });
  const form = $("upload");
  form.action = grant.url;
  for (const [name, value] of Object.entries(grant.fields)) {
    const input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    $("fields").append(input);
  }
  $("submit").disabled = false;
  const mib = (grant.max_size / 1048576).toFixed(0);
  $("status").textContent = `Ready: files up to ${mib} MiB, until ${new Date(grant.expires_at).toLocaleTimeString()}.`;
}

const key = params.get("key");
if (key) confirm(key, params.get("etag") || "").catch((e) => { $("status").textContent = `Failed: ${e.message}`; });
prepare().catch((e) => { $("status").textContent = `Failed: ${e.message}`; });
