// The browser side of tests/uppy.rs, shared by the Uppy 5 and Uppy 6 bundles: makes files from
// deterministic bytes (the test computes the same bytes in Rust), uploads them with an Uppy
// built by examples/uppy/uppy{5,6}.js, and reports what Uppy said about each file.

/** The bytes of a test file: a 32-bit LCG, so every part of a multipart upload differs. */
export function testBytes(size, seed, text) {
  const bytes = new Uint8Array(size)
  let x = seed >>> 0
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    const high = x >>> 24
    bytes[i] = text ? (i % 64 === 63 ? 10 : 32 + (high % 95)) : high
  }
  return bytes
}

/** What an error says, with what Uppy attached to it (cause, HTTP status, response body). */
function describe(error) {
  if (error == null) return String(error)
  const parts = [`${error.name || 'Error'}: ${error.message}`]
  const cause = error.cause
  if (cause) parts.push(`cause: ${cause.name || 'Error'}: ${cause.message || cause}`)
  const xhr = error.request || error.source || cause?.request
  if (xhr && typeof xhr.status === 'number') {
    parts.push(`status ${xhr.status}`)
    if (typeof xhr.responseText === 'string' && xhr.responseText) {
      parts.push(`body: ${xhr.responseText.slice(0, 600)}`)
    }
  }
  if (error.status != null) parts.push(`status ${error.status}`)
  if (typeof error.body === 'string') parts.push(`body: ${error.body.slice(0, 600)}`)
  return parts.join('; ')
}

/**
 * Uploads `files` ([{ name, type, size, seed, text }]) with `createUppy(brokerUrl, token)`.
 * Resolves (never rejects) with { versions, results: [{ name, key, location, size }], errors }.
 */
export async function runUploads(createUppy, versions, { brokerUrl, token, files, timeoutMs }) {
  const errors = []
  const results = []
  const progress = {}
  let uppy
  try {
    uppy = createUppy(brokerUrl, token)
  } catch (error) {
    return { versions, results, errors: [`creating Uppy: ${describe(error)}`], progress }
  }
  uppy.on('upload-success', (file, response) => {
    results.push({
      name: file.name,
      key: response?.body?.key ?? null,
      location: response?.body?.location ?? response?.uploadURL ?? null,
      size: file.size,
    })
  })
  uppy.on('upload-error', (file, error, response) => {
    const status = response?.status != null ? ` (response status ${response.status})` : ''
    errors.push(`${file?.name}: ${describe(error)}${status}`)
  })
  uppy.on('upload-progress', (file, p) => {
    progress[file.name] = `${p.bytesUploaded}/${p.bytesTotal}`
  })
  uppy.on('s3-multipart:part-uploaded', (file, part) => {
    progress[`${file.name} part ${part.PartNumber}`] = `ETag ${part.ETag}`
  })
  uppy.on('error', (error) => errors.push(`uppy error: ${describe(error)}`))
  try {
    for (const { name, type, size, seed, text } of files) {
      uppy.addFile({
        name,
        type,
        data: new File([testBytes(size, seed, text)], name, { type }),
        source: 'test',
      })
    }
    const timeout = new Promise((resolve) => {
      setTimeout(() => resolve('timeout'), timeoutMs)
    })
    const outcome = await Promise.race([uppy.upload(), timeout])
    if (outcome === 'timeout') {
      errors.push(`no result from uppy.upload() within ${timeoutMs} ms`)
    } else if (outcome?.failed?.length && errors.length === 0) {
      errors.push(`failed: ${outcome.failed.map((f) => `${f.name}: ${f.error}`).join(', ')}`)
    }
  } catch (error) {
    errors.push(`uploading: ${describe(error)}`)
  }
  return { versions, results, errors, progress }
}
