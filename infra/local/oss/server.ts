/**
 * The OSS emulator's HTTP front: bucket from the Host header (`<bucket>.oss-<region>.aliyuncs.com`, what ali-oss
 * sends for an IP endpoint) or from the path (path-style, `sldEnable`), every request authenticated, and OSS's XML
 * bodies and error codes. Put/Get/Head/Delete, ListObjects (v1 and v2), multipart, `x-oss-forbid-overwrite`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Readable, Transform } from "node:stream";
import { readBody, requestId } from "../http-util.js";
import { ossDenial } from "./authorize.js";
import { type BucketFiles, type ObjectMeta, OssFault } from "./bucket-files.js";
import type { OssAuthenticator } from "./signature.js";

export type OssOperation =
  | "PutObject"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "ListObjects"
  | "InitiateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload";

/** Which requests a fault hits: an operation, optionally only on some keys or one part number. */
interface FaultTarget {
  readonly key?: (key: string) => boolean;
  readonly part?: number;
}
type Fault = FaultTarget &
  (
    | { kind: "error"; status: number; code: string }
    | { kind: "reset"; afterBytes: number }
    | { kind: "corrupt" }
    | { kind: "lose" }
  );

/**
 * Fault knobs, each used once per `times`: an error answer; a connection reset part-way through the request body (the
 * network failing mid-upload); or one bit flipped in the body as it arrives (corruption TCP did not catch).
 */
export class OssFaults {
  readonly #queue = new Map<OssOperation, Fault[]>();
  /**
   * A model of the network to OSS: every request is answered this much later (one round trip on a kept-alive
   * connection; OSS in the same region is 1–10 ms away), so a lookup in front of a synthesis shows its cost.
   */
  latencyMs = 0;

  /** The next `times` requests of `op` (only on keys `key` accepts, when given) fail with `status` and `code`. */
  failNext(op: OssOperation, opts: FaultTarget & { status?: number; code?: string; times?: number } = {}): void {
    this.#add(op, opts.times, {
      kind: "error",
      status: opts.status ?? 500,
      code: opts.code ?? "InternalError",
      key: opts.key,
      part: opts.part,
    });
  }

  /** The connection of the next matching request is destroyed once `afterBytes` of its body have arrived. */
  resetNext(op: OssOperation, opts: FaultTarget & { afterBytes?: number; times?: number } = {}): void {
    this.#add(op, opts.times, {
      kind: "reset",
      afterBytes: opts.afterBytes ?? 64 * 1024,
      key: opts.key,
      part: opts.part,
    });
  }

  /**
   * The next matching request is carried out (an object is written), but its answer is lost: the connection drops
   * instead. The client's retry then meets the state its own first attempt left (409 for a create-if-absent).
   */
  loseAnswerNext(op: OssOperation, opts: FaultTarget & { times?: number } = {}): void {
    this.#add(op, opts.times, { kind: "lose", key: opts.key, part: opts.part });
  }

  /** One bit of the next matching request's body is flipped on arrival. */
  corruptNext(op: OssOperation, opts: FaultTarget & { times?: number } = {}): void {
    this.#add(op, opts.times, { kind: "corrupt", key: opts.key, part: opts.part });
  }

  take(op: OssOperation, key = "", part?: number): Fault | undefined {
    const list = this.#queue.get(op);
    const index = list?.findIndex((f) => (!f.key || f.key(key)) && (f.part === undefined || f.part === part)) ?? -1;
    return index === -1 ? undefined : list!.splice(index, 1)[0];
  }

  clear(): void {
    this.#queue.clear();
  }

  #add(op: OssOperation, times = 1, fault: Fault): void {
    const list = this.#queue.get(op) ?? [];
    for (let i = 0; i < times; i++) list.push(fault);
    this.#queue.set(op, list);
  }
}

const xmlEscape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Observers see every request after it is answered: tests count operations with them. */
export type OssObserver = (event: {
  op: OssOperation | "Unknown";
  bucket: string;
  key: string;
  status: number;
}) => void;

export function ossHandler(opts: {
  store: BucketFiles;
  auth: OssAuthenticator;
  faults: OssFaults;
  region: string;
  observers: Set<OssObserver>;
}) {
  const hostPattern = new RegExp(
    `^([a-z0-9][a-z0-9-]{1,61}[a-z0-9])\\.oss-${opts.region}(-internal)?\\.aliyuncs\\.com(:\\d+)?$`,
  );

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (opts.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, opts.faults.latencyMs));
    const id = requestId();
    const url = new URL(req.url ?? "/", "http://local");
    const hostBucket = hostPattern.exec(req.headers.host ?? "")?.[1];
    let bucket: string;
    let key: string;
    try {
      const path = decodeURIComponent(url.pathname);
      if (hostBucket) {
        bucket = hostBucket;
        key = path.slice(1);
      } else {
        const slash = path.indexOf("/", 1);
        bucket = slash === -1 ? path.slice(1) : path.slice(1, slash);
        key = slash === -1 ? "" : path.slice(slash + 1);
      }
    } catch {
      return sendError(res, id, 400, "InvalidURI", "Couldn't parse the specified URI.", req.method === "HEAD");
    }
    const op = operation(req.method ?? "GET", key, url.searchParams);
    const observe = (status: number): void => {
      for (const o of opts.observers) o({ op, bucket, key, status });
    };
    const error = (status: number, code: string, message: string, extra: Record<string, string> = {}): void => {
      sendError(res, id, status, code, message, req.method === "HEAD", extra);
      observe(status);
    };

    const auth = opts.auth.verify({
      method: req.method ?? "GET",
      bucket,
      key,
      query: url.searchParams,
      headers: req.headers,
    });
    if (!auth.ok) {
      req.resume();
      return error(
        auth.error.status,
        auth.error.code,
        auth.error.message,
        auth.error.stringToSign ? { StringToSign: auth.error.stringToSign } : {},
      );
    }
    if (auth.anonymous) {
      req.resume();
      return error(403, "AccessDenied", "You have no right to access this object because of bucket acl.");
    }
    if (!opts.store.hasBucket(bucket)) {
      req.resume();
      return error(404, "NoSuchBucket", "The specified bucket does not exist.", { BucketName: bucket });
    }
    const denied =
      op === "Unknown"
        ? undefined
        : ossDenial(auth.key, { op, bucket, key, query: url.searchParams, region: opts.region });
    if (denied) {
      req.resume();
      return error(
        403,
        "AccessDenied",
        `You are not authorized to do this action. You should be authorized by RAM (${auth.key?.role?.name} lacks ${denied}).`,
      );
    }
    if (op === "Unknown") {
      req.resume();
      return error(
        501,
        "NotImplemented",
        `The local OSS emulator does not implement ${req.method} ${url.search || "(no sub-resource)"}.`,
      );
    }
    if (key && (Buffer.byteLength(key) > 1023 || key.startsWith("/") || key.startsWith("\\"))) {
      req.resume();
      return error(400, "InvalidObjectName", "The specified object is not valid.");
    }
    const fault = opts.faults.take(
      op,
      key,
      url.searchParams.has("partNumber") ? Number(url.searchParams.get("partNumber")) : undefined,
    );
    if (fault?.kind === "error") {
      req.resume();
      return error(fault.status, fault.code, "Injected fault.");
    }
    if (fault?.kind === "reset") return resetAfter(req, fault.afterBytes, () => observe(0));
    if (fault?.kind === "lose") {
      try {
        observe(
          await handle(op, req, unanswered(), {
            bucket,
            key,
            query: url.searchParams,
            store: opts.store,
            id,
            body: req,
          }),
        );
      } catch {
        observe(0);
      }
      return void req.socket.destroy();
    }
    try {
      const body = fault?.kind === "corrupt" ? req.pipe(flipOneBit()) : req;
      const status = await handle(op, req, res, { bucket, key, query: url.searchParams, store: opts.store, id, body });
      observe(status);
    } catch (e) {
      req.resume();
      if (e instanceof OssFault) return error(e.status, e.code, e.message);
      throw e;
    }
  };
}

function operation(method: string, key: string, q: URLSearchParams): OssOperation | "Unknown" {
  if (!key) return method === "GET" ? "ListObjects" : "Unknown";
  if (method === "PUT")
    return q.has("uploadId") && q.has("partNumber") ? "UploadPart" : q.has("uploadId") ? "Unknown" : "PutObject";
  if (method === "POST")
    return q.has("uploads") ? "InitiateMultipartUpload" : q.has("uploadId") ? "CompleteMultipartUpload" : "Unknown";
  if (method === "DELETE") return q.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
  if (method === "GET") return q.has("uploadId") ? "Unknown" : "GetObject";
  if (method === "HEAD") return "HeadObject";
  return "Unknown";
}

interface Ctx {
  readonly bucket: string;
  readonly key: string;
  readonly query: URLSearchParams;
  readonly store: BucketFiles;
  readonly id: string;
  /** The request body as it arrived (possibly damaged by a fault). */
  readonly body: Readable;
}

/** A response that goes nowhere: the request is carried out, its answer is lost. */
function unanswered(): ServerResponse {
  const sink = {
    writeHead: () => sink,
    setHeader: () => sink,
    write: () => true,
    end: () => sink,
    on: () => sink,
    once: () => sink,
    headersSent: false,
  };
  return sink as unknown as ServerResponse;
}

/** Reads the body until `afterBytes`, then drops the connection without an answer. */
function resetAfter(req: IncomingMessage, afterBytes: number, done: () => void): void {
  let seen = 0;
  let killed = false;
  const kill = (): void => {
    if (killed) return;
    killed = true;
    req.socket.destroy();
    done();
  };
  req.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    if (seen >= afterBytes) kill();
  });
  req.on("end", kill);
}

function flipOneBit(): Transform {
  let flipped = false;
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      if (!flipped && chunk.length > 0) {
        chunk = Buffer.from(chunk);
        chunk[chunk.length >> 1]! ^= 0x10;
        flipped = true;
      }
      callback(null, chunk);
    },
  });
}

/** Sends an object's bytes: a small one's from memory in one write, a larger one's streamed from its files. */
function respondWith(
  store: BucketFiles,
  meta: ObjectMeta,
  res: ServerResponse,
  range?: { start: number; end: number },
): void {
  const bytes = store.bytes(meta, range);
  if (bytes) res.end(bytes);
  else store.read(meta, range).pipe(res);
}

async function handle(op: OssOperation, req: IncomingMessage, res: ServerResponse, ctx: Ctx): Promise<number> {
  const { store, bucket, key, query, id, body } = ctx;
  const base = { "x-oss-request-id": id, server: "AliyunOSS" };
  switch (op) {
    case "PutObject": {
      const meta = await store.put(bucket, key, body, {
        contentType: contentType(req),
        userMeta: userMeta(req),
        forbidOverwrite: forbidOverwrite(req),
        contentMd5: header(req, "content-md5"),
      });
      res.writeHead(200, { ...base, etag: meta.etag, "content-length": 0 }).end();
      return 200;
    }
    case "GetObject":
    case "HeadObject": {
      const meta = store.head(bucket, key);
      if (!meta) throw new OssFault(404, "NoSuchKey", "The specified key does not exist.");
      const headers = { ...base, ...objectHeaders(meta) };
      const range = op === "GetObject" ? parseRange(header(req, "range"), meta.size) : undefined;
      if (op === "HeadObject") {
        res.writeHead(200, headers).end();
        return 200;
      }
      if (range) {
        res.writeHead(206, {
          ...headers,
          "content-length": range.end - range.start + 1,
          "content-range": `bytes ${range.start}-${range.end}/${meta.size}`,
        });
        respondWith(store, meta, res, range);
        return 206;
      }
      res.writeHead(200, headers);
      respondWith(store, meta, res);
      return 200;
    }
    case "DeleteObject":
      await store.delete(bucket, key);
      res.writeHead(204, base).end();
      return 204;
    case "ListObjects":
      return listObjects(res, ctx, base);
    case "InitiateMultipartUpload": {
      const uploadId = store.initUpload(bucket, key, { contentType: contentType(req), userMeta: userMeta(req) });
      sendXml(
        res,
        200,
        base,
        `<InitiateMultipartUploadResult><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
      );
      return 200;
    }
    case "UploadPart": {
      const etag = await store.putPart(
        bucket,
        key,
        query.get("uploadId")!,
        Number(query.get("partNumber")),
        body,
        header(req, "content-md5"),
      );
      res.writeHead(200, { ...base, etag, "content-length": 0 }).end();
      return 200;
    }
    case "CompleteMultipartUpload": {
      const body = (await readBody(req, 1024 * 1024)).toString("utf8");
      const parts = [
        ...body.matchAll(/<Part>\s*<PartNumber>(\d+)<\/PartNumber>\s*<ETag>([^<]+)<\/ETag>\s*<\/Part>/g),
      ].map((m) => ({ partNumber: Number(m[1]), etag: m[2]!.replace(/&quot;/g, '"') }));
      const meta = await store.complete(bucket, key, query.get("uploadId")!, parts, forbidOverwrite(req));
      sendXml(
        res,
        200,
        base,
        `<CompleteMultipartUploadResult><Location>http://${bucket}.oss.aliyuncs.com/${xmlEscape(key)}</Location><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(meta.etag)}</ETag></CompleteMultipartUploadResult>`,
      );
      return 200;
    }
    case "AbortMultipartUpload":
      await store.abort(bucket, key, query.get("uploadId")!);
      res.writeHead(204, base).end();
      return 204;
  }
}

function listObjects(res: ServerResponse, ctx: Ctx, base: Record<string, string>): number {
  const q = ctx.query;
  const v2 = q.get("list-type") === "2";
  const maxKeys = Math.min(1000, Number(q.get("max-keys") ?? 100) || 100);
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") ?? "";
  const marker = (v2 ? (q.get("continuation-token") ?? q.get("start-after")) : q.get("marker")) ?? "";
  const result = ctx.store.list(ctx.bucket, { prefix, marker, maxKeys, delimiter });
  const contents = result.objects
    .map(
      (o) =>
        `<Contents><Key>${xmlEscape(o.key)}</Key><LastModified>${new Date(o.lastModified).toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Type>${o.type}</Type><Size>${o.size}</Size><StorageClass>Standard</StorageClass><Owner><ID>1000000000000001</ID><DisplayName>1000000000000001</DisplayName></Owner></Contents>`,
    )
    .join("");
  const prefixes = result.prefixes
    .map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`)
    .join("");
  const paging = v2
    ? `<KeyCount>${result.objects.length + result.prefixes.length}</KeyCount>${result.truncated ? `<NextContinuationToken>${xmlEscape(result.next)}</NextContinuationToken>` : ""}`
    : `<Marker>${xmlEscape(marker)}</Marker>${result.truncated ? `<NextMarker>${xmlEscape(result.next)}</NextMarker>` : ""}`;
  sendXml(
    res,
    200,
    base,
    `<ListBucketResult><Name>${xmlEscape(ctx.bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>${paging}<MaxKeys>${maxKeys}</MaxKeys><Delimiter>${xmlEscape(delimiter)}</Delimiter><IsTruncated>${result.truncated}</IsTruncated>${contents}${prefixes}</ListBucketResult>`,
  );
  return 200;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function contentType(req: IncomingMessage): string {
  return header(req, "content-type") ?? "application/octet-stream";
}

function userMeta(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(req.headers)
      .filter(([k]) => k.startsWith("x-oss-meta-"))
      .map(([k, v]) => [k.slice("x-oss-meta-".length), String(v)]),
  );
}

function forbidOverwrite(req: IncomingMessage): boolean {
  const v = header(req, "x-oss-forbid-overwrite");
  if (v === undefined || v === "false") return false;
  if (v === "true") return true;
  throw new OssFault(400, "InvalidArgument", "x-oss-forbid-overwrite must be true or false.");
}

function objectHeaders(meta: ObjectMeta): Record<string, string | number> {
  return {
    "content-type": meta.contentType,
    "content-length": meta.size,
    etag: meta.etag,
    "last-modified": meta.lastModified,
    "accept-ranges": "bytes",
    "x-oss-object-type": meta.type,
    ...Object.fromEntries(Object.entries(meta.userMeta).map(([k, v]) => [`x-oss-meta-${k}`, v])),
  };
}

function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  const m = value ? /^bytes=(\d*)-(\d*)$/.exec(value) : null;
  if (!m || size === 0 || (m[1] === "" && m[2] === "")) return undefined;
  const start = m[1] === "" ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === "" || m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  // OSS ignores an unsatisfiable range and returns the whole object.
  return start <= end && start < size ? { start, end } : undefined;
}

function sendXml(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, { ...headers, "content-type": "application/xml", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  id: string,
  status: number,
  code: string,
  message: string,
  head: boolean,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.destroy();
  const fields = Object.entries(extra)
    .map(([k, v]) => `  <${k}>${xmlEscape(v)}</${k}>\n`)
    .join("");
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${code}</Code>\n  <Message>${xmlEscape(message)}</Message>\n  <RequestId>${id}</RequestId>\n  <HostId>oss-local</HostId>\n${fields}</Error>\n`;
  res.writeHead(status, {
    "x-oss-request-id": id,
    "content-type": "application/xml",
    "content-length": head ? 0 : Buffer.byteLength(body),
    "x-oss-ec": "0000-00000000",
  });
  res.end(head ? undefined : body);
}
