// Uppy 6 (@uppy/core 6, @uppy/aws-s3 6) uploading straight to S3 through s3-broker.
// Uppy 6 asks for one signed S3 request at a time; s3-broker's POST /s3/sign answers with a
// POST policy for a small file, and with presigned URLs (and the headers they were signed
// with) for the steps of a multipart upload, except the last: Uppy sends CompleteMultipartUpload
// to the broker's own /s3/complete URL, where the broker checks the parts and completes. The
// broker chooses every key (under the caller's namespace; Uppy uses the key it returns).
// The test tests/browser/uppy.rs bundles and runs exactly this file against `s3-broker dev`.
import Uppy from '@uppy/core'
import AwsS3 from '@uppy/aws-s3'

const MiB = 1024 * 1024

// brokerUrl: where s3-broker runs, e.g. https://uploads.example.com (its server.cors_origins
// must list your page's origin); token: the signed-in user's JWT.
export function createUppy(brokerUrl, token) {
  return new Uppy().use(AwsS3, {
    // request: { method, key, uploadId?, partNumber?, contentType? }
    signRequest: async (request) => {
      const response = await fetch(`${brokerUrl}/s3/sign`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`, // or 'x-api-key': key
        },
        body: JSON.stringify(request),
      })
      if (!response.ok) throw new Error(`s3-broker: ${response.status} ${await response.text()}`)
      return response.json() // { url, key?, headers?, fields? }
    },
    shouldUseMultipart: (file) => file.size > 10 * MiB,
    getChunkSize: () => 5 * MiB, // S3's smallest part size
  })
}
