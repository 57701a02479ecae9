// The Uppy 5 bundle of tests/uppy.rs: the README's example, run by the shared harness.
import Uppy from '@uppy/core'
import AwsS3 from '@uppy/aws-s3'
import { createUppy } from '../../../examples/uppy/uppy5.js'
import { runUploads } from '../harness.js'

const versions = { core: Uppy.VERSION, awsS3: AwsS3.VERSION }
window.uppyHarness = (options) => runUploads(createUppy, versions, options)
