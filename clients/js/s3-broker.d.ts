// Types of s3-broker.js (ESM, no dependencies; browsers and React Native).

export type ChecksumAlgorithm = "SHA256" | "CRC32" | "CRC32C";

export interface ClientOptions {
  /** The broker's URL, e.g. `https://uploads.example.com`. */
  baseUrl: string;
  /** A bearer token. */
  token?: string;
  /** Called for every request: a fresh bearer token. */
  getToken?: () => string | Promise<string>;
  /** An API key (`X-Api-Key`), for servers; never ship one to a browser. */
  apiKey?: string;
  /** The fetch to call the broker with (default: the global one). */
  fetch?: typeof fetch;
  /** Retries of a failed part (network error, 5xx, 408, 429). Default 3. */
  retries?: number;
  /** Files from this size on go in parts. Default 16 MiB. */
  multipartThreshold?: number;
}

export interface Progress {
  loaded: number;
  total: number;
}

/** A multipart upload's resumable state: plain JSON, safe to store and to send elsewhere. */
export interface UploadTicket {
  /** The broker's sealed ticket. */
  upload: string;
  key: string;
  bucket: string;
  upload_id: string;
  part_size: number;
  part_count: number;
  size: number;
  checksum_algorithm: ChecksumAlgorithm | null;
  expires_at: string;
  server_time: string;
}

export interface UploadOptions {
  /** Default: `file.name`. */
  filename?: string;
  /** Default: `file.type`, else `application/octet-stream`. */
  contentType?: string;
  /** Client folders, for profiles with `{path}`. */
  path?: string;
  metadata?: Record<string, string>;
  profile?: string;
  /** Single uploads: PUT or POST (default: the profile's). */
  method?: "PUT" | "POST";
  /** `auto` (default): none unless the profile requires one, then SHA256. */
  checksum?: "auto" | "none" | ChecksumAlgorithm;
  /** Force or forbid parts (default: from the size and the profile). */
  multipart?: boolean;
  /** Bytes per part (at least 5 MiB; default: the broker's). */
  partSize?: number;
  /** Cancels; a multipart upload stays resumable from its ticket. */
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Called once a multipart upload exists. */
  onTicket?: (ticket: UploadTicket) => void;
  onPart?: (part: { partNumber: number; etag: string }) => void;
}

export interface UploadResult {
  key: string;
  bucket: string;
  size: number;
  method: "PUT" | "POST" | "multipart";
  etag?: string;
  /** The broker's `/v1/uploads/verify` answer (a signed receipt), when it offers that route
   * and the grant carried an `upload` token (single uploads); for a multipart upload, the
   * receipt of the completion (brokers that verify at completion). */
  verified?: unknown;
}

export interface DownloadGrant {
  method: "GET";
  url: string;
  key: string;
  expires_at: string;
  server_time: string;
  [extra: string]: unknown;
}

export interface ListedFile {
  key: string;
  name: string;
  size: number;
  content_type?: string;
  last_modified: string | null;
}

export interface ListedFolder {
  prefix: string;
  name: string;
}

export interface Listing {
  prefix: string;
  namespace: string;
  files: ListedFile[];
  folders: ListedFolder[];
  next_cursor?: string;
}

export interface FormOptions {
  contentType?: string;
  path?: string;
  metadata?: Record<string, string>;
  profile?: string;
  /** An URL of an origin the broker is configured for (no query). */
  redirect?: string;
  successActionStatus?: 200 | 201 | 204;
  signal?: AbortSignal;
}

export interface FormGrant {
  method: "POST";
  url: string;
  /** Every field, in order; the file goes last as `file`. `key` ends with `${filename}`. */
  fields: Record<string, string>;
  key_prefix: string;
  bucket: string;
  content_type: string;
  content_type_is_prefix: boolean;
  min_size: number;
  max_size: number;
  expires_at: string;
  server_time: string;
}

export class S3BrokerError extends Error {
  /** HTTP status (0: no answer). */
  status: number;
  /** The broker's problem code, or `network`, `aborted`, `store_refused`, `etag_hidden`, ... */
  code: string;
  detail?: string;
  /** The broker's problem+json document. */
  problem?: Record<string, unknown> | null;
}

export class S3BrokerClient {
  constructor(options: ClientOptions);
  upload(file: Blob, options?: UploadOptions): Promise<UploadResult>;
  resume(file: Blob, ticket: UploadTicket, options?: UploadOptions): Promise<UploadResult>;
  abort(ticket: UploadTicket, options?: { signal?: AbortSignal }): Promise<void>;
  download(key: string, options?: { disposition?: "attachment" | "inline"; filename?: string; signal?: AbortSignal }): Promise<DownloadGrant>;
  list(prefix?: string, options?: { cursor?: string; profile?: string; signal?: AbortSignal }): Promise<Listing>;
  form(options?: FormOptions): Promise<FormGrant>;
  /** What the broker offers (read once from its `/openapi.json`). */
  features(): Promise<{ verify: boolean }>;
  request<T = unknown>(method: string, path: string, body?: unknown, options?: { signal?: AbortSignal }): Promise<T>;
}

export function isAbort(error: unknown): boolean;
export function describeError(error: unknown): string;
export function checksumOf(algorithm: ChecksumAlgorithm, blob: Blob): Promise<string>;
export function crc(algorithm: "CRC32" | "CRC32C", bytes: Uint8Array): number;
