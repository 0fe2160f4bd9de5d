/**
 * The object store the job and batch state machines need: the few OSS operations they use, as a port. `OssStorage`
 * is the real one; `MemoryObjectStore` keeps objects in a Map with the same semantics (create-if-absent, listing in
 * key order with a marker), so the transitions can be tested in milliseconds without sockets.
 */
import { createHash } from "node:crypto";
import type { ObjectInfo, PutOptions } from "./oss.js";

export interface ObjectStore {
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

export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<string, { body: Buffer; info: ObjectInfo }>();
  /** Every operation, for tests that count requests. */
  readonly ops: Array<{ op: "get" | "head" | "put" | "delete" | "list"; key: string }> = [];

  constructor(readonly bucket = "memory") {}

  async get(key: string): Promise<Buffer | undefined> {
    this.ops.push({ op: "get", key });
    return this.#objects.get(key)?.body;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.ops.push({ op: "head", key });
    return this.#objects.get(key)?.info;
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<{ created: boolean; etag?: string }> {
    this.ops.push({ op: "put", key });
    if (opts.ifAbsent && this.#objects.has(key)) return { created: false };
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const etag = createHash("md5").update(bytes).digest("hex").toUpperCase();
    this.#objects.set(key, {
      body: bytes,
      info: {
        key,
        size: bytes.length,
        etag,
        contentType: opts.contentType,
        meta: { ...(opts.meta ?? {}) },
        lastModified: new Date().toUTCString(),
      },
    });
    return { created: true, etag };
  }

  async delete(key: string): Promise<void> {
    this.ops.push({ op: "delete", key });
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
        size: this.#objects.get(key)!.info.size,
        etag: this.#objects.get(key)!.info.etag,
      })),
      ...(keys.length > max ? { next: page.at(-1) } : {}),
    };
  }

  /** All keys, for assertions. */
  keys(prefix = ""): string[] {
    return [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}
