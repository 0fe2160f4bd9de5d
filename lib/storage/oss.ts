/**
 * OSS access through ali-oss: streamed writes of unknown length with bounded memory, create-if-absent, reads,
 * listing and signed URLs.
 *
 * ali-oss's `multipartUpload` needs a file, Buffer or browser File and `putStream` is a single PUT that cannot be
 * retried (facts §10), so unknown-length streams go through the low-level multipart API: fixed-size parts, one in
 * memory at a time, each retried on transient failure, and the upload aborted on any failure so no partial object
 * and no orphaned parts are left.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import OSS from "ali-oss";
import { ProviderError } from "../errors.js";
import { withRetry } from "../retry.js";

export interface OssStorageConfig {
  readonly bucket: string;
  /** `oss-cn-shanghai`; also the V4 signing region. */
  readonly region: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
  /** Custom endpoint (the local cloud, or an accelerate domain). */
  readonly endpoint?: string;
  readonly internal?: boolean;
  /** Path-style addressing; the local cloud needs it (peers.md §4). */
  readonly pathStyle?: boolean;
  readonly timeoutMs?: number;
  /** Fresh STS credentials when the current ones near expiry (FC role credentials rotate). */
  readonly refreshCredentials?: () => { accessKeyId: string; accessKeySecret: string; securityToken?: string };
}

export interface PutOptions {
  readonly contentType?: string;
  readonly meta?: Record<string, string>;
  /** Fail with `exists` instead of overwriting (x-oss-forbid-overwrite). */
  readonly ifAbsent?: boolean;
}

export interface StreamPutOptions extends PutOptions {
  /** Bytes per multipart part (OSS minimum 100 KiB except the last). */
  readonly partSize?: number;
  /** Parts uploading at once while the next is read; memory use is about partSize × (partsInFlight + 1). */
  readonly partsInFlight?: number;
  readonly signal?: AbortSignal;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly contentType?: string;
  readonly meta: Record<string, string>;
  readonly lastModified?: string;
}

export const MIN_PART_SIZE = 100 * 1024;
const DEFAULT_PART_SIZE = 4 * 1024 * 1024;

/** The OSS error codes (or HTTP statuses) worth another attempt. */
function isTransient(error: unknown): boolean {
  const e = error as { status?: number; code?: string; name?: string };
  // ali-oss reports a dropped connection as status -1 and a timeout as -2 (code "ResponseError"), or only by name.
  if (e.status === -1 || e.status === -2) return true;
  if (e.status !== undefined && (e.status >= 500 || e.status === 429)) return true;
  // InvalidDigest: the bytes were damaged on the way; we still hold them, so sending them again is safe.
  return [
    "InvalidDigest",
    "ECONNRESET",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "EPIPE",
    "ResponseTimeoutError",
    "ConnectionTimeoutError",
    "RequestError",
  ].some((c) => c === e.code || c === e.name);
}

function toProviderError(error: unknown, what: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const e = error as { status?: number; code?: string; name?: string; requestId?: string };
  return new ProviderError({
    provider: "oss",
    code: e.code ?? e.name ?? "OssError",
    upstreamMessage: `${what} failed: ${e.code ?? e.name}${e.status ? ` (HTTP ${e.status})` : ""}`,
    retryable: isTransient(error),
    cause: error,
  });
}

export class OssStorage {
  readonly client: OSS;
  readonly bucket: string;

  constructor(opts: { client: OSS; bucket: string } | { config: OssStorageConfig }) {
    if ("client" in opts) {
      this.client = opts.client;
      this.bucket = opts.bucket;
      return;
    }
    const c = opts.config;
    this.bucket = c.bucket;
    this.client = new OSS({
      bucket: c.bucket,
      region: c.region,
      accessKeyId: c.accessKeyId,
      accessKeySecret: c.accessKeySecret,
      ...(c.securityToken ? { stsToken: c.securityToken } : {}),
      ...(c.securityToken && c.refreshCredentials
        ? {
            refreshSTSToken: async () => {
              const fresh = c.refreshCredentials!();
              return {
                accessKeyId: fresh.accessKeyId,
                accessKeySecret: fresh.accessKeySecret,
                stsToken: fresh.securityToken ?? "",
              };
            },
          }
        : {}),
      ...(c.endpoint ? { endpoint: c.endpoint } : {}),
      ...(c.pathStyle ? { sldEnable: true } : {}),
      internal: c.internal ?? false,
      secure: c.endpoint ? c.endpoint.startsWith("https:") : true,
      authorizationV4: true,
      timeout: c.timeoutMs ?? 60_000,
    } as OSS.Options);
  }

  /** Writes a Buffer or string; returns false instead of overwriting when `ifAbsent` and the key exists. */
  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<{ created: boolean; etag?: string }> {
    try {
      const res = await withRetry(
        () =>
          this.client.put(key, typeof body === "string" ? Buffer.from(body) : body, {
            mime: opts.contentType,
            meta: opts.meta as OSS.UserMeta,
            headers: this.#headers(opts),
          }),
        { retryable: isTransient, attempts: 3 },
      );
      return { created: true, etag: etagOf(res.res) };
    } catch (error) {
      if (opts.ifAbsent && isAlreadyExists(error)) return { created: false };
      throw toProviderError(error, `PutObject ${key}`);
    }
  }

  /**
   * Streams a body of unknown length into one object with bounded memory.
   * Small bodies (under one part) become a single PutObject; larger ones a multipart upload that is aborted on failure.
   */
  async putStream(
    key: string,
    body: Readable | AsyncIterable<Uint8Array>,
    opts: StreamPutOptions = {},
  ): Promise<{ created: boolean; size: number; parts: number; etag?: string }> {
    const partSize = Math.max(MIN_PART_SIZE, opts.partSize ?? DEFAULT_PART_SIZE);
    const parts: Array<{ number: number; etag: string }> = [];
    const inFlight = new Set<Promise<void>>();
    let uploadId: string | undefined;
    let size = 0;
    let count = 0;
    try {
      for await (const part of fixedSizeParts(body, partSize, opts.signal)) {
        size += part.length;
        if (!uploadId) {
          if (part.length < partSize) return { ...(await this.put(key, part, opts)), size, parts: 1 };
          uploadId = (
            await withRetry(
              () => this.client.initMultipartUpload(key, { mime: opts.contentType, meta: opts.meta as OSS.UserMeta }),
              { retryable: isTransient, attempts: 3 },
            )
          ).uploadId;
        }
        const number = ++count;
        const id = uploadId;
        // Reading the next part overlaps the uploads of the previous ones; a failed part fails the whole upload.
        // Content-MD5 makes OSS refuse a part damaged in transit instead of storing it (ali-oss adds it only to Buffer bodies).
        const md5 = createHash("md5").update(part).digest("base64");
        const upload = withRetry(
          () =>
            this.client.uploadPart(key, id, number, part, 0, part.length, {
              headers: { "Content-MD5": md5 },
            } as OSS.RequestOptions),
          { retryable: isTransient, attempts: 4, signal: opts.signal },
        ).then((res) => {
          parts.push({ number, etag: res.etag });
        });
        inFlight.add(upload);
        void upload.finally(() => inFlight.delete(upload)).catch(() => undefined);
        if (inFlight.size >= Math.max(1, opts.partsInFlight ?? 2)) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      parts.sort((a, b) => a.number - b.number);
      if (!uploadId) return { ...(await this.put(key, Buffer.alloc(0), opts)), size: 0, parts: 1 };
      const id = uploadId;
      const done = await withRetry(
        () =>
          this.client.completeMultipartUpload(key, id, parts, {
            headers: this.#headers(opts),
          } as OSS.CompleteMultipartUploadOptions),
        {
          retryable: (e) => isTransient(e) && !isAlreadyExists(e),
          attempts: 3,
        },
      );
      uploadId = undefined;
      return { created: true, size, parts: parts.length, etag: (done as { etag?: string }).etag ?? etagOf(done.res) };
    } catch (error) {
      await Promise.allSettled(inFlight);
      if (uploadId) await this.client.abortMultipartUpload(key, uploadId).catch(() => undefined);
      if (opts.ifAbsent && isAlreadyExists(error)) return { created: false, size, parts: count };
      throw toProviderError(error, `streamed upload of ${key}`);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return (await withRetry(() => this.client.get(key), { retryable: isTransient, attempts: 3 })).content as Buffer;
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw toProviderError(error, `GetObject ${key}`);
    }
  }

  /** Bytes `start`..`end` (inclusive) of an object, e.g. a header. */
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    try {
      return (await this.client.get(key, { headers: { Range: `bytes=${start}-${end}` } })).content as Buffer;
    } catch (error) {
      throw toProviderError(error, `GetObject ${key} (range)`);
    }
  }

  async getStream(key: string): Promise<Readable> {
    try {
      return (await this.client.getStream(key)).stream as Readable;
    } catch (error) {
      throw toProviderError(error, `GetObject ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await withRetry(() => this.client.head(key), { retryable: isTransient, attempts: 3 });
      const headers = (res.res as { headers: Record<string, string> }).headers;
      return {
        key,
        size: Number(headers["content-length"]),
        etag: headers.etag ?? "",
        contentType: headers["content-type"],
        meta: (res.meta ?? {}) as Record<string, string>,
        lastModified: headers["last-modified"],
      };
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw toProviderError(error, `HeadObject ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.delete(key);
    } catch (error) {
      throw toProviderError(error, `DeleteObject ${key}`);
    }
  }

  /** One page of keys under a prefix; pass `next` back as `marker` for the following page. */
  async list(
    prefix: string,
    opts: { marker?: string; maxKeys?: number } = {},
  ): Promise<{ objects: Array<{ key: string; size: number; etag: string }>; next?: string }> {
    try {
      // An undefined marker is signed by ali-oss's V4 signer but not sent, which breaks the signature: omit it.
      // Empty values are signed differently by ali-oss's V4 signer ("k=") than they appear on the wire: leave them out.
      const query = {
        ...(prefix ? { prefix } : {}),
        "max-keys": opts.maxKeys ?? 100,
        ...(opts.marker ? { marker: opts.marker } : {}),
      };
      const res = await this.client.list(query, {});
      return {
        objects: (res.objects ?? []).map((o) => ({ key: o.name, size: o.size, etag: o.etag })),
        next: res.isTruncated ? res.nextMarker : undefined,
      };
    } catch (error) {
      throw toProviderError(error, `ListObjects ${prefix}`);
    }
  }

  /** A presigned GET URL, valid for `expiresSeconds`; `filename` makes browsers download under that name. */
  signedUrl(key: string, opts: { expiresSeconds?: number; filename?: string } = {}): string {
    return this.client.signatureUrl(key, {
      expires: opts.expiresSeconds ?? 3600,
      ...(opts.filename
        ? { response: { "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(opts.filename)}` } }
        : {}),
    });
  }

  #headers(opts: PutOptions): Record<string, string> {
    return opts.ifAbsent ? { "x-oss-forbid-overwrite": "true" } : {};
  }
}

function isAlreadyExists(error: unknown): boolean {
  const e = error as { status?: number; code?: string };
  return e.status === 409 && e.code === "FileAlreadyExists";
}

function etagOf(res: unknown): string | undefined {
  return (res as { headers?: Record<string, string> } | undefined)?.headers?.etag;
}

/** Re-chunks any byte stream into parts of exactly `size` bytes (the last may be shorter), holding one part at a time. */
export async function* fixedSizeParts(
  source: AsyncIterable<Uint8Array>,
  size: number,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  let part = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const chunk of source) {
    signal?.throwIfAborted();
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(size - filled, chunk.length - offset);
      part.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === size) {
        yield part;
        part = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield part.subarray(0, filled);
}
