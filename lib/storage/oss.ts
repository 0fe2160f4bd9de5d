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
import { type BackoffOptions, type RetryOptions, withRetry } from "../retry.js";
import { escapeXml } from "../text/xml.js";
import { hashedParts } from "./hashed-parts.js";
import { contentTypeOfKey, OssClient, OssRequestError, xmlText } from "./oss-client.js";
import { isAlreadyExists, isTransient, toUpstreamError } from "./oss-errors.js";
import type { ObjectInfo, OssStorageConfig, PutOptions, StreamPutOptions } from "./oss-types.js";

export { hashedParts } from "./hashed-parts.js";

export type { ObjectInfo, OssStorageConfig, PutOptions, StreamPutOptions } from "./oss-types.js";

export const MIN_PART_SIZE = 100 * 1024;
const DEFAULT_PART_SIZE = 4 * 1024 * 1024;

export class OssStorage {
  readonly client: OssClient;
  readonly bucket: string;
  /** Signs the links users download from: the same bucket and credentials on a public origin. */
  readonly #links: OssClient;
  /** How retries wait (a test takes the waits on a fake clock). */
  readonly #backoff: Pick<BackoffOptions, "sleep" | "random">;

  constructor(opts: { config: OssStorageConfig; backoff?: Pick<BackoffOptions, "sleep" | "random"> }) {
    const c = opts.config;
    this.#backoff = opts.backoff ?? {};
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

  #retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
    return withRetry(fn, { ...this.#backoff, ...opts });
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
      const res = await this.#retry(() => this.client.send({ method: "PUT", key, headers, body }), {
        retryable: isTransient,
        attempts: 3,
      });
      return { created: true, etag: res.headers.etag };
    } catch (error) {
      if (opts.ifAbsent && isAlreadyExists(error)) return { created: false };
      throw toUpstreamError(error, `PutObject ${key}`);
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
          const init = await this.#retry(
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
        const upload = this.#retry(
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
      const done = await this.#retry(
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
      throw toUpstreamError(error, `streamed upload of ${key}`);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return (
        await this.#retry(() => this.client.send({ method: "GET", key }), { retryable: isTransient, attempts: 3 })
      ).body;
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw toUpstreamError(error, `GetObject ${key}`);
    }
  }

  /** Bytes `start`..`end` (inclusive) of an object, e.g. a header. */
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    try {
      return (await this.client.send({ method: "GET", key, headers: { range: `bytes=${start}-${end}` } })).body;
    } catch (error) {
      throw toUpstreamError(error, `GetObject ${key} (range)`);
    }
  }

  async getStream(key: string): Promise<Readable> {
    try {
      return await this.client.open({ method: "GET", key });
    } catch (error) {
      throw toUpstreamError(error, `GetObject ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await this.#retry(() => this.client.send({ method: "HEAD", key }), {
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
      throw toUpstreamError(error, `HeadObject ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send({ method: "DELETE", key });
    } catch (error) {
      throw toUpstreamError(error, `DeleteObject ${key}`);
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
      const res = await this.#retry(() => this.client.send({ method: "GET", query }), {
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
      throw toUpstreamError(error, `ListObjects ${prefix}`);
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
