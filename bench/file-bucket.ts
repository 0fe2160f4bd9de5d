/**
 * A bucket on the local disk, for benchmarks whose objects are too large to keep in this process's memory (a 10-hour
 * book): the bench's peak RSS is then the pipeline's own, not the bucket's.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StreamingBucket } from "../lib/storage/bucket.js";
import type { ObjectInfo, PutOptions } from "../lib/storage/oss-types.js";

export class FileBucket implements StreamingBucket {
  readonly bucket = "file";
  constructor(private readonly root: string) {}

  #path(key: string): string {
    return join(this.root, key);
  }

  async get(key: string): Promise<Buffer | undefined> {
    return readFile(this.#path(key)).catch(() => undefined);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const s = await stat(this.#path(key)).catch(() => undefined);
    return s?.isFile() ? { key, size: s.size, etag: String(s.mtimeMs), meta: {} } : undefined;
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<{ created: boolean; etag?: string }> {
    if (opts.ifAbsent && (await this.head(key))) return { created: false };
    await mkdir(dirname(this.#path(key)), { recursive: true });
    await writeFile(this.#path(key), body);
    return { created: true, etag: createHash("md5").update(body).digest("hex") };
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async list(prefix: string, opts: { marker?: string; maxKeys?: number } = {}) {
    const all: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const path = join(dir, e.name);
        if (e.isDirectory()) await walk(path);
        else all.push(relative(this.root, path));
      }
    };
    await walk(this.root);
    const keys = all
      .filter((k) => k.startsWith(prefix) && (!opts.marker || k > opts.marker))
      .sort()
      .slice(0, opts.maxKeys ?? 1000);
    const objects = await Promise.all(keys.map(async (key) => ({ key, size: (await this.head(key))!.size, etag: "" })));
    return { objects };
  }

  async putStream(key: string, body: Readable | AsyncIterable<Uint8Array>) {
    await mkdir(dirname(this.#path(key)), { recursive: true });
    await pipeline(Readable.from(body), createWriteStream(this.#path(key)));
    return { created: true, size: (await this.head(key))!.size, parts: 1 };
  }

  async getStream(key: string): Promise<Readable> {
    return createReadStream(this.#path(key), { highWaterMark: 1 << 20 });
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    const file = await open(this.#path(key));
    try {
      const buffer = Buffer.alloc(end - start + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  }
}
