// Dropzone 5 → S3 through s3-broker: each file gets a grant in `accept`, is sent to the grant's
// URL, with the grant's headers (PUT) or fields (POST), and nothing else. Copy this function;
// see doc/clients.md for the recipe and the CORS rules it needs.

/**
 * Options for `new Dropzone(element, options)` that upload straight to S3 with grants of the
 * broker at `broker`, as the holder of `token`. `method` is "PUT" (the file is the body) or
 * "POST" (a form: the grant's fields, then the file as the last field `file`).
 */
export function s3BrokerDropzone({ broker, token, method = "PUT", path }) {
  return {
    url: (files) => files[0].grant.url,
    method: method.toLowerCase(),
    paramName: "file", // POST: S3 wants the file in the field `file`
    uploadMultiple: false, // one file per request: one grant per file
    parallelUploads: 2,
    timeout: 0,
    // Dropzone 5 adds Cache-Control and X-Requested-With to every request: S3 needs neither
    // and the bucket's CORS rules do not allow them. (Dropzone 6: `defaultHeaders: false`.)
    headers: { "Cache-Control": null, "X-Requested-With": null },

    // Ask the broker for a grant for this file before Dropzone queues it.
    accept(file, done) {
      const body = {
        filename: file.name,
        content_type: file.type || "application/octet-stream",
        size: file.size,
        method,
      };
      if (path) body.path = path;
      fetch(`${broker}/v1/uploads`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      })
        .then(async (response) => {
          const json = await response.json();
          if (!response.ok) throw new Error(json.detail || json.title || `HTTP ${response.status}`);
          file.grant = json;
          done();
        })
        .catch((error) => done(error.message));
    },

    init() {
      this.on("sending", (file, xhr, formData) => {
        const grant = file.grant;
        if (grant.method === "PUT") {
          // The signed headers, with exactly these values (the browser sets Content-Length).
          for (const [name, value] of Object.entries(grant.headers)) {
            if (name !== "content-length") xhr.setRequestHeader(name, value);
          }
          // The body is the file itself, not a form.
          const send = xhr.send;
          xhr.send = () => send.call(xhr, file);
        } else {
          // Every field in order; Dropzone appends the file (`file`) after them.
          for (const [name, value] of Object.entries(grant.fields)) formData.append(name, value);
        }
      });
    },
  };
}
