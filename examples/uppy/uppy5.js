// Uppy 5 (@uppy/core 5, @uppy/aws-s3 5) uploading straight to S3 through s3-broker.
// Uppy 5 speaks Companion's S3 protocol, which s3-broker answers under /s3/: small files go
// up as one POST-policy form, larger ones as a multipart upload whose parts the broker signs.
// The broker chooses every key (under the caller's namespace) and signs only what S3 enforces.
// The test tests/browser/uppy.rs bundles and runs exactly this file against `s3-broker dev`.
import Uppy from '@uppy/core'
import AwsS3 from '@uppy/aws-s3'

const MiB = 1024 * 1024

// brokerUrl: where s3-broker runs, e.g. https://uploads.example.com (its server.cors_origins
// must list your page's origin); token: the signed-in user's JWT.
export function createUppy(brokerUrl, token) {
  return new Uppy().use(AwsS3, {
    endpoint: brokerUrl, // Uppy calls `${endpoint}/s3/params`, `${endpoint}/s3/multipart`, ...
    headers: { authorization: `Bearer ${token}` }, // or { 'x-api-key': key }
    shouldUseMultipart: (file) => file.size > 10 * MiB,
    getChunkSize: () => 5 * MiB, // S3's smallest part size
  })
}
