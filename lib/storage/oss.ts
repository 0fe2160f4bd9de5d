/**
 * OSS access: streamed writes of unknown length with bounded memory, create-if-absent, reads, listing and signed URLs,
 * over the small signed client in ./oss-client.ts.
 *
 * Unknown-length streams go through the multipart API (a single streamed PUT cannot be retried): fixed-size parts,
 * each with its Content-MD5 and retried on transient failure, a few in flight, and the upload aborted on any failure so
 * no partial object and no orphaned parts are left.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { ProviderError } from "../errors.js";
import { withRetry } from "../retry.js";
import { escapeXml } from "../text/xml.js";
import { contentTypeOfKey, OssClient, OssRequestError, xmlText } from "./oss-client.js";

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
  /**
   * The origin of signed download links: a custom domain bound to the bucket. Without it links use the bucket's
   * public endpoint, never the internal one (reachable only from inside Alibaba Cloud in the region).
   */
  readonly publicEndpoint?: string;
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
  /**
   * Parts uploading at once while the next is read (default 3: a copy from one socket to another is bound by the
   * round trips of each part, not the bandwidth); memory use is about partSize × (partsInFlight + 1).
   */
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
  const e = error as { status?: number; code?: string };
  // Status 0: the request never got an answer (a reset, a refused connection, a timeout).
  if (error instanceof OssRequestError && e.status === 0) return true;
  if (e.status !== undefined && (e.status >= 500 || e.status === 429)) return true;
  // InvalidDigest: the bytes were damaged on the way; we still hold them, so sending them again is safe.
  return e.code === "InvalidDigest";
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
  readonly client: OssClient;
  readonly bucket: string;
  /** Signs the links users download from: the same bucket and credentials on a public origin. */
  readonly #links: OssClient;

  constructor(opts: { config: OssStorageConfig }) {
    const c = opts.config;
    this.bucket = c.bucket;
    const fixed = { accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken };
    this.client = new OssClient({
      bucket: c.bucket,
      region: c.region,
      // STS credentials rotate: the current ones are read for every request.
      credentials: c.refreshCredentials ?? (() => fixed),
      endpoint: c.endpoint,
      internal: c.internal,
      pathStyle: c.pathStyle,
      timeoutMs: c.timeoutMs,
    });
    this.#links = new OssClient({
      bucket: c.bucket,
      region: c.region,
      credentials: c.refreshCredentials ?? (() => fixed),
      endpoint: c.publicEndpoint ?? c.endpoint?.replace(/-internal\./, "."),
      internal: false,
      pathStyle: c.publicEndpoint ? false : c.pathStyle,
      cname: c.publicEndpoint !== undefined,
    });
  }

  /** Writes a Buffer or string; returns false instead of overwriting when `ifAbsent` and the key exists. */
  put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<{ created: boolean; etag?: string }> {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    return this.#putObject(key, bytes, md5(bytes), opts);
  }

  /** PutObject with its Content-MD5 (OSS refuses a body damaged on the way instead of storing it), retried. */
  async #putObject(
    key: string,
    body: Buffer | readonly Buffer[],
    contentMd5: string,
    opts: PutOptions,
  ): Promise<{ created: boolean; etag?: string }> {
    const headers = { ...this.#headers(key, opts), "content-md5": contentMd5 };
    try {
      const res = await withRetry(() => this.client.send({ method: "PUT", key, headers, body }), {
        retryable: isTransient,
        attempts: 3,
      });
      return { created: true, etag: res.headers.etag };
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
      for await (const part of hashedParts(body, partSize, opts.signal)) {
        size += part.length;
        if (!uploadId) {
          // A body under one part is one PutObject, with the digest already taken as it was read.
          if (part.length < partSize)
            return { ...(await this.#putObject(key, part.chunks, part.md5, opts)), size, parts: 1 };
          const { contentType, meta } = opts;
          const init = await withRetry(
            () =>
              this.client.send({
                method: "POST",
                key,
                query: { uploads: null },
                headers: this.#headers(key, { contentType, meta }),
              }),
            { retryable: isTransient, attempts: 3 },
          );
          uploadId = xmlText(init.body.toString("utf8"), "UploadId");
          if (!uploadId)
            throw new OssRequestError(500, "InvalidResponse", `InitiateMultipartUpload ${key}: no UploadId`);
        }
        const number = ++count;
        const id = uploadId;
        // Reading the next part overlaps the uploads of the previous ones; a failed part fails the whole upload.
        // Content-MD5 (hashed as the part filled) makes OSS refuse a part damaged in transit instead of storing it.
        const upload = withRetry(
          () =>
            this.client.send({
              method: "PUT",
              key,
              query: { partNumber: String(number), uploadId: id },
              headers: { "content-md5": part.md5 },
              body: part.chunks,
            }),
          { retryable: isTransient, attempts: 4, signal: opts.signal },
        ).then((res) => {
          parts.push({ number, etag: String(res.headers.etag ?? "") });
        });
        inFlight.add(upload);
        void upload.finally(() => inFlight.delete(upload)).catch(() => undefined);
        if (inFlight.size >= Math.max(1, opts.partsInFlight ?? 3)) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      parts.sort((a, b) => a.number - b.number);
      if (!uploadId) return { ...(await this.put(key, Buffer.alloc(0), opts)), size: 0, parts: 1 };
      const id = uploadId;
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>\n${parts
        .map((p) => `<Part>\n<PartNumber>${p.number}</PartNumber>\n<ETag>${escapeXml(p.etag)}</ETag>\n</Part>\n`)
        .join("")}</CompleteMultipartUpload>`;
      const done = await withRetry(
        () =>
          this.client.send({
            method: "POST",
            key,
            query: { uploadId: id },
            headers: { "content-type": "application/xml", ...(opts.ifAbsent ? FORBID_OVERWRITE : {}) },
            body: Buffer.from(xml),
          }),
        {
          retryable: (e) => isTransient(e) && !isAlreadyExists(e),
          attempts: 3,
        },
      );
      uploadId = undefined;
      return {
        created: true,
        size,
        parts: parts.length,
        etag: xmlText(done.body.toString("utf8"), "ETag") ?? done.headers.etag,
      };
    } catch (error) {
      await Promise.allSettled(inFlight);
      if (uploadId) await this.client.send({ method: "DELETE", key, query: { uploadId } }).catch(() => undefined);
      if (opts.ifAbsent && isAlreadyExists(error)) return { created: false, size, parts: count };
      throw toProviderError(error, `streamed upload of ${key}`);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return (await withRetry(() => this.client.send({ method: "GET", key }), { retryable: isTransient, attempts: 3 }))
        .body;
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw toProviderError(error, `GetObject ${key}`);
    }
  }

  /** Bytes `start`..`end` (inclusive) of an object, e.g. a header. */
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    try {
      return (await this.client.send({ method: "GET", key, headers: { range: `bytes=${start}-${end}` } })).body;
    } catch (error) {
      throw toProviderError(error, `GetObject ${key} (range)`);
    }
  }

  async getStream(key: string): Promise<Readable> {
    try {
      return await this.client.open({ method: "GET", key });
    } catch (error) {
      throw toProviderError(error, `GetObject ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await withRetry(() => this.client.send({ method: "HEAD", key }), {
        retryable: isTransient,
        attempts: 3,
      });
      const h = res.headers;
      const meta: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) if (k.startsWith("x-oss-meta-")) meta[k.slice(11)] = String(v);
      return {
        key,
        size: Number(h["content-length"]),
        etag: h.etag ?? "",
        contentType: h["content-type"],
        meta,
        lastModified: h["last-modified"],
      };
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw toProviderError(error, `HeadObject ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send({ method: "DELETE", key });
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
      const query: Record<string, string> = {
        ...(prefix ? { prefix } : {}),
        "max-keys": String(opts.maxKeys ?? 100),
        ...(opts.marker ? { marker: opts.marker } : {}),
      };
      const res = await withRetry(() => this.client.send({ method: "GET", query }), {
        retryable: isTransient,
        attempts: 3,
      });
      const xml = res.body.toString("utf8");
      const objects = [...xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map((m) => ({
        key: xmlText(m[1]!, "Key") ?? "",
        size: Number(xmlText(m[1]!, "Size") ?? 0),
        etag: xmlText(m[1]!, "ETag") ?? "",
      }));
      const truncated = xmlText(xml, "IsTruncated") === "true";
      return { objects, next: truncated ? (xmlText(xml, "NextMarker") ?? objects.at(-1)?.key) : undefined };
    } catch (error) {
      throw toProviderError(error, `ListObjects ${prefix}`);
    }
  }

  /**
   * A presigned GET URL (V4) on the public origin, valid for `expiresSeconds` (OSS allows up to 7 days; signed with STS
   * credentials, it works at most as long as they do); `filename` makes browsers download under that name.
   */
  signedUrl(key: string, opts: { expiresSeconds?: number; filename?: string } = {}): string {
    return this.#links.signedUrl(
      key,
      opts.expiresSeconds ?? 3600,
      opts.filename
        ? { "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(opts.filename)}` }
        : {},
    );
  }

  /** A write's headers: its type (named, or from the key's extension), its metadata, and create-if-absent. */
  #headers(key: string, opts: PutOptions): Record<string, string> {
    const headers: Record<string, string> = {};
    const type = opts.contentType ?? contentTypeOfKey(key);
    if (type) headers["content-type"] = type;
    for (const [k, v] of Object.entries(opts.meta ?? {})) headers[`x-oss-meta-${k.toLowerCase()}`] = v;
    return opts.ifAbsent ? { ...headers, ...FORBID_OVERWRITE } : headers;
  }
}

const FORBID_OVERWRITE = { "x-oss-forbid-overwrite": "true" };

const md5 = (bytes: Uint8Array): string => createHash("md5").update(bytes).digest("base64");

function isAlreadyExists(error: unknown): boolean {
  const e = error as { status?: number; code?: string };
  return e.status === 409 && e.code === "FileAlreadyExists";
}

/**
 * Cuts any byte stream into parts of exactly `size` bytes (the last may be shorter), each with its Content-MD5 hashed
 * as the part fills, holding one part at a time. A part is the list of the chunks it was read as (a chunk that crosses
 * a part boundary is split, not copied), sent as they are: copying them into part buffers was, with the page faults of
 * fresh memory, as costly as the MD5 itself in a batch's profile (167 ms of copying beside 152 ms of hashing). The
 * source must not reuse a chunk's memory once it has yielded it (Node's streams never do).
 */
export async function* hashedParts(
  source: AsyncIterable<Uint8Array>,
  size: number,
  signal?: AbortSignal,
): AsyncGenerator<{ chunks: Buffer[]; length: number; md5: string }> {
  let chunks: Buffer[] = [];
  let hash = createHash("md5");
  let filled = 0;
  for await (const received of source) {
    signal?.throwIfAborted();
    let chunk = Buffer.isBuffer(received)
      ? received
      : Buffer.from(received.buffer, received.byteOffset, received.byteLength);
    while (chunk.length > 0) {
      const piece = chunk.length <= size - filled ? chunk : chunk.subarray(0, size - filled);
      chunk = chunk.subarray(piece.length);
      chunks.push(piece);
      hash.update(piece);
      filled += piece.length;
      if (filled === size) {
        yield { chunks, length: size, md5: hash.digest("base64") };
        chunks = [];
        hash = createHash("md5");
        filled = 0;
      }
    }
  }
  if (filled > 0) yield { chunks, length: filled, md5: hash.digest("base64") };
}
