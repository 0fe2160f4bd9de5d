/**
 * A bucket as the job and batch state machines need it: the few OSS operations they use, as a port. `OssStorage`
 * is the real one; `MemoryBucket` keeps objects in a Map with the same semantics (create-if-absent, listing in
 * key order with a marker), so the transitions can be tested in milliseconds without sockets.
 */
import { hash } from "node:crypto";
import { Readable } from "node:stream";
import type { ObjectInfo, PutOptions, StreamPutOptions } from "./oss.js";

export interface Bucket {
  readonly bucket: string;
  get(key: string): Promise<Buffer | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Writes; `{ created: false }` instead of overwriting when `ifAbsent` and the key exists. */
  put(key: string, body: Buffer | string, opts?: PutOptions): Promise<{ created: boolean; etag?: string }>;
  delete(key: string): Promise<void>;
  /** Keys under `prefix` in lexicographic order, after `marker`, at most `maxKeys` per page. */
  list(
    prefix: string,
    opts?: { marker?: string; maxKeys?: number },
  ): Promise<{ objects: Array<{ key: string; size: number; etag: string }>; next?: string }>;
}

/** What the store step needs of a bucket besides: streamed writes and reads, and ranges (a WAV part's header). */
export interface StreamingBucket extends Bucket {
  putStream(
    key: string,
    body: Readable | AsyncIterable<Uint8Array>,
    opts?: StreamPutOptions,
  ): Promise<{ created: boolean; size: number; parts: number; etag?: string }>;
  getStream(key: string): Promise<Readable>;
  getRange(key: string, start: number, end: number): Promise<Buffer>;
}

/** Every key under `prefix`, in key order, listed `pageSize` at a time. */
export async function* keysUnder(
  bucket: Pick<Bucket, "list">,
  prefix: string,
  pageSize = 1000,
): AsyncGenerator<string> {
  let marker: string | undefined;
  do {
    const page = await bucket.list(prefix, { marker, maxKeys: pageSize });
    for (const o of page.objects) yield o.key;
    marker = page.next;
  } while (marker);
}

export class MemoryBucket implements StreamingBucket {
  readonly #objects = new Map<string, StoredObject>();
  /** Writes and deletes so far under each watched prefix (a simulation checks again only what they changed). */
  readonly #versions = new Map<string, number>();
  /** Every operation, for tests that count requests. */
  readonly ops: Array<{ op: "get" | "head" | "put" | "delete" | "list"; key: string }> = [];

  /** Keys under each watched prefix, kept as they are written, so a frequent listing of one needs no scan. */
  readonly #watched = new Map<string, Set<string>>();

  constructor(
    readonly bucket = "memory",
    opts: { watch?: readonly string[] } = {},
  ) {
    for (const prefix of opts.watch ?? []) this.#watched.set(prefix, new Set());
  }

  #track(key: string, present: boolean): void {
    for (const [prefix, keys] of this.#watched)
      if (key.startsWith(prefix)) {
        this.#versions.set(prefix, (this.#versions.get(prefix) ?? 0) + 1);
        if (present) keys.add(key);
        else keys.delete(key);
      }
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.ops.push({ op: "get", key });
    return this.#objects.get(key)?.body;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.ops.push({ op: "head", key });
    const object = this.#objects.get(key);
    return object && infoOf(key, object);
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<{ created: boolean; etag?: string }> {
    this.ops.push({ op: "put", key });
    if (opts.ifAbsent && this.#objects.has(key)) return { created: false };
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const etag = hash("md5", bytes, "hex").toUpperCase();
    this.#track(key, true);
    const meta = opts.meta && { ...opts.meta };
    this.#objects.set(key, { body: bytes, etag, contentType: opts.contentType, meta, modified: Date.now() });
    return { created: true, etag };
  }

  /** The body read whole, then one put: an object exists only once all of it does, as with OSS. */
  async putStream(
    key: string,
    body: Readable | AsyncIterable<Uint8Array>,
    opts: StreamPutOptions = {},
  ): Promise<{ created: boolean; size: number; parts: number; etag?: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
    const bytes = Buffer.concat(chunks);
    return { ...(await this.put(key, bytes, opts)), size: bytes.length, parts: 1 };
  }

  async getStream(key: string): Promise<Readable> {
    const body = await this.get(key);
    if (!body) throw Object.assign(new Error(`no object ${key}`), { code: "NoSuchKey" });
    return Readable.from([body]);
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    return ((await this.get(key)) ?? Buffer.alloc(0)).subarray(start, end + 1);
  }

  async delete(key: string): Promise<void> {
    this.ops.push({ op: "delete", key });
    this.#track(key, false);
    this.#objects.delete(key);
  }

  async list(
    prefix: string,
    opts: { marker?: string; maxKeys?: number } = {},
  ): Promise<{ objects: Array<{ key: string; size: number; etag: string }>; next?: string }> {
    this.ops.push({ op: "list", key: prefix });
    const max = opts.maxKeys ?? 1000;
    const keys = [...this.#objects.keys()]
      .filter((k) => k.startsWith(prefix) && (opts.marker === undefined || k > opts.marker))
      .sort();
    const page = keys.slice(0, max);
    return {
      objects: page.map((key) => ({
        key,
        size: this.#objects.get(key)!.body.length,
        etag: this.#objects.get(key)!.etag,
      })),
      ...(keys.length > max ? { next: page.at(-1) } : {}),
    };
  }

  /** An object's body now, without recording an operation (the simulator's invariants read through it). */
  peek(key: string): Buffer | undefined {
    return this.#objects.get(key)?.body;
  }

  /** How many writes and deletes a watched prefix has seen. */
  version(prefix: string): number {
    return this.#versions.get(prefix) ?? 0;
  }

  /** The keys under `prefix` in no particular order (cheaper than `keys`, for a check made after every step). */
  keysUnsorted(prefix = ""): string[] {
    const watched = this.#watched.get(prefix);
    if (watched) return [...watched];
    const out: string[] = [];
    for (const k of this.#objects.keys()) if (k.startsWith(prefix)) out.push(k);
    return out;
  }

  /** All keys, for assertions. */
  keys(prefix = ""): string[] {
    return [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

/** An object as kept: its ObjectInfo is made when a HEAD asks (a date string costs a microsecond, and few are asked). */
interface StoredObject {
  readonly body: Buffer;
  readonly etag: string;
  readonly contentType?: string;
  readonly meta?: Record<string, string>;
  readonly modified: number;
}

function infoOf(key: string, object: StoredObject): ObjectInfo {
  return {
    key,
    size: object.body.length,
    etag: object.etag,
    contentType: object.contentType,
    meta: { ...(object.meta ?? {}) },
    lastModified: new Date(object.modified).toUTCString(),
  };
}
