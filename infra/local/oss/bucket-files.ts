/**
 * The OSS emulator's object store: metadata in memory and in a JSON sidecar per object (written to a temp file and
 * renamed into place, so a failed write never leaves a partial object). A small object's bytes (records, markers: up
 * to 64 KiB) are in its sidecar, and the most recently used of them (32 MiB in all) in memory too: writing one is one
 * file written and renamed, and reading a recent one touches no file. A larger object is a file of its own. A
 * multipart object keeps its parts' files, in order: completing an upload renames them into place (O(parts), no byte
 * copied, as OSS itself completes an upload without re-reading it).
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, createReadStream, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { type FileHandle, mkdir, open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { KeyIndex } from "./key-index.js";

export interface ObjectMeta {
  readonly key: string;
  readonly size: number;
  /** Quoted, upper-case hex MD5 (or MD5-of-MD5s plus "-N" for multipart), as OSS returns it. */
  readonly etag: string;
  readonly contentType: string;
  readonly userMeta: Readonly<Record<string, string>>;
  readonly lastModified: string;
  readonly type: "Normal" | "Multipart";
  /** The object's bytes: one file, or a multipart object's part files in order; none for a small object. */
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number }>;
  /** A small object's sidecar, whose base64 `data` holds its bytes. */
  readonly inline?: string;
}

export class OssFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Upload {
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly userMeta: Record<string, string>;
  readonly parts: Map<number, { file: string; etag: string; md5: Buffer; size: number }>;
}

export const MAX_OBJECT_SIZE = 5 * 1024 ** 3;
export const MIN_PART_SIZE = 100 * 1024;
const MAX_PARTS = 10_000;
/** Objects up to this size are kept in their sidecar, not a file of their own (see #spool and bytes). */
const SMALL_OBJECT = 64 * 1024;
/** A larger body is written to its file this much at a time: one system call per MiB, not one per socket read. */
const WRITE_BATCH = 1024 * 1024;
/** Small objects' bytes kept in memory, the most recently used first to stay: the rest are read from their sidecar. */
const MEMORY_BUDGET = 32 * 1024 * 1024;

const hex = (b: Buffer): string => `"${b.toString("hex").toUpperCase()}"`;

export class BucketFiles {
  readonly #objects = new Map<string, KeyIndex<ObjectMeta>>();
  readonly #committing = new Set<string>();
  readonly #uploads = new Map<string, Upload>();
  /** Small objects' bytes by sidecar path, least recently used first, and their total size. */
  readonly #bodies = new Map<string, Buffer>();
  #bodyBytes = 0;
  /** Names of temp files and object versions: this run's random prefix and a counter (no entropy drawn per write). */
  readonly #run = randomBytes(6).toString("hex");
  #seq = 0;

  constructor(
    private readonly dir: string,
    buckets: readonly string[],
  ) {
    for (const b of buckets) this.#objects.set(b, new KeyIndex());
  }

  /** Loads objects left on disk by an earlier run, so `npm start` keeps its data across restarts. */
  async init(): Promise<void> {
    for (const [bucket, index] of this.#objects) {
      const metaDir = join(this.dir, bucket, "meta");
      await mkdir(metaDir, { recursive: true });
      await mkdir(join(this.dir, bucket, "data"), { recursive: true });
      await mkdir(join(this.dir, "tmp"), { recursive: true });
      const loaded: Array<[string, ObjectMeta]> = [];
      for (const name of await readdir(metaDir)) {
        if (!name.endsWith(".json")) continue;
        const sidecar = join(metaDir, name);
        const { data, file, ...meta } = JSON.parse(await readFile(sidecar, "utf8")) as ObjectMeta & {
          file?: string;
          data?: string;
        };
        // Sidecars written before objects had `files` name one `file`.
        const files = meta.files ?? [{ path: file!, size: meta.size }];
        loaded.push([meta.key, data === undefined ? { ...meta, files } : { ...meta, files, inline: sidecar }]);
      }
      index.load(loaded);
    }
  }

  hasBucket(bucket: string): boolean {
    return this.#objects.has(bucket);
  }

  head(bucket: string, key: string): ObjectMeta | undefined {
    return this.#objects.get(bucket)?.get(key);
  }

  /**
   * A small object's bytes (or the range of them): from memory when recently used, else from its sidecar. Undefined for
   * an object kept in files of its own.
   */
  bytes(meta: ObjectMeta, range?: { start: number; end: number }): Buffer | undefined {
    if (!meta.inline) return undefined;
    let body = this.#bodies.get(meta.inline);
    if (!body) {
      const { data } = JSON.parse(readFileSync(meta.inline, "utf8")) as { data: string };
      body = Buffer.from(data, "base64");
    }
    this.#keep(meta.inline, body);
    return range ? body.subarray(range.start, range.end + 1) : body;
  }

  /** Keeps a small object's bytes in memory as the most recently used, within the budget. */
  #keep(sidecar: string, body: Buffer): void {
    this.#forget(sidecar);
    this.#bodies.set(sidecar, body);
    this.#bodyBytes += body.length;
    for (const [path, old] of this.#bodies) {
      if (this.#bodyBytes <= MEMORY_BUDGET) break;
      this.#bodies.delete(path);
      this.#bodyBytes -= old.length;
    }
  }

  #forget(sidecar: string): void {
    const kept = this.#bodies.get(sidecar);
    if (!kept) return;
    this.#bodies.delete(sidecar);
    this.#bodyBytes -= kept.length;
  }

  /**
   * Opens the object's file now, synchronously, so a reader keeps the version it was given even if a writer replaces
   * the object a moment later (each version has its own file; the old one is unlinked after the switch).
   */
  read(meta: ObjectMeta, range?: { start: number; end: number }): Readable {
    const bytes = this.bytes(meta, range);
    if (bytes) return Readable.from([bytes]);
    const fds = meta.files.map((f) => openSync(f.path, "r"));
    if (fds.length === 1) return createReadStream("", { fd: fds[0]!, ...range });
    const start = range?.start ?? 0;
    const end = range?.end ?? meta.size - 1;
    const files = meta.files;
    return Readable.from(
      (async function* () {
        let offset = 0;
        try {
          for (let i = 0; i < files.length; i++) {
            const size = files[i]!.size;
            const from = Math.max(start, offset);
            const to = Math.min(end, offset + size - 1);
            if (from <= to) {
              const stream = createReadStream("", {
                fd: fds[i]!,
                start: from - offset,
                end: to - offset,
                autoClose: true,
              });
              fds[i] = -1;
              yield* stream;
            }
            offset += size;
          }
        } finally {
          for (const fd of fds) if (fd !== -1) closeSync(fd);
        }
      })(),
    );
  }

  #tempName(): string {
    return `${this.#run}-${++this.#seq}`;
  }

  /**
   * Reads a body, hashing as it goes; nothing is visible until `commit`. A small body is kept whole in memory (most
   * objects here are job records and markers of a few hundred bytes); a larger one goes to a temp file a MiB at a time.
   */
  async #spool(body: Readable): Promise<{ file?: string; bytes?: Buffer; md5: Buffer; size: number }> {
    const md5 = createHash("md5");
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let file: string | undefined;
    let out: FileHandle | undefined;
    try {
      for await (const received of body) {
        const chunk = received as Buffer;
        size += chunk.length;
        if (size > MAX_OBJECT_SIZE)
          throw new OssFault(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.");
        md5.update(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (size <= SMALL_OBJECT || pendingBytes < WRITE_BATCH) continue;
        file ??= join(this.dir, "tmp", this.#tempName());
        out ??= await open(file, "w");
        await out.writev(pending);
        pending = [];
        pendingBytes = 0;
      }
      if (size <= SMALL_OBJECT)
        return { bytes: pending.length === 1 ? pending[0]! : Buffer.concat(pending), md5: md5.digest(), size };
      file ??= join(this.dir, "tmp", this.#tempName());
      out ??= await open(file, "w");
      if (pending.length > 0) await out.writev(pending);
      await out.close();
      return { file, md5: md5.digest(), size };
    } catch (error) {
      await out?.close().catch(() => undefined);
      if (file) removeFile(file);
      throw error;
    }
  }

  /** A part is always a file of its own (completion renames the parts into place). */
  async #spoolToFile(body: Readable): Promise<{ file: string; md5: Buffer; size: number }> {
    const spooled = await this.#spool(body);
    if (spooled.file) return { file: spooled.file, md5: spooled.md5, size: spooled.size };
    const file = join(this.dir, "tmp", this.#tempName());
    writeFileSync(file, spooled.bytes!);
    return { file, md5: spooled.md5, size: spooled.size };
  }

  async put(
    bucket: string,
    key: string,
    body: Readable,
    opts: { contentType: string; userMeta: Record<string, string>; forbidOverwrite: boolean; contentMd5?: string },
  ): Promise<ObjectMeta> {
    this.#checkWritable(bucket, key, opts.forbidOverwrite);
    const spooled = await this.#spool(body);
    if (opts.contentMd5 !== undefined && opts.contentMd5 !== spooled.md5.toString("base64")) {
      if (spooled.file) removeFile(spooled.file);
      throw new OssFault(400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
    }
    return this.#commit(
      bucket,
      key,
      spooled.bytes ?? [{ path: spooled.file!, size: spooled.size }],
      {
        size: spooled.size,
        etag: hex(spooled.md5),
        contentType: opts.contentType,
        userMeta: opts.userMeta,
        type: "Normal",
      },
      opts.forbidOverwrite,
    );
  }

  #checkWritable(bucket: string, key: string, forbidOverwrite: boolean): void {
    const index = this.#objects.get(bucket);
    if (!index) throw new OssFault(404, "NoSuchBucket", "The specified bucket does not exist.");
    if (forbidOverwrite && (index.has(key) || this.#committing.has(`${bucket}/${key}`)))
      throw new OssFault(
        409,
        "FileAlreadyExists",
        "The object you specified already exists and can not be overwritten.",
      );
  }

  /**
   * Puts a small object's bytes, or moves spooled files (one, or a multipart object's parts in order) into place, as
   * the object `key`; its sidecar is written to a temp file and renamed, so it is whole or absent.
   */
  async #commit(
    bucket: string,
    key: string,
    content: Buffer | ReadonlyArray<{ readonly path: string; readonly size: number }>,
    meta: Omit<ObjectMeta, "key" | "files" | "lastModified" | "inline">,
    forbidOverwrite: boolean,
    /** Whether the temp files are removed when the write is refused (a part file stays with its upload). */
    owned = true,
  ): Promise<ObjectMeta> {
    // The check and the reservation happen in one synchronous step: two racing create-if-absent writes elect one winner.
    try {
      this.#checkWritable(bucket, key, forbidOverwrite);
    } catch (error) {
      if (owned && !Buffer.isBuffer(content)) for (const t of content) removeFile(t.path);
      throw error;
    }
    const id = `${bucket}/${key}`;
    this.#committing.add(id);
    try {
      const name = createHash("sha256").update(key).digest("hex");
      const version = this.#tempName();
      const files = Buffer.isBuffer(content)
        ? []
        : content.map((t, i) => ({
            path: join(this.dir, bucket, "data", `${name}-${version}${content.length > 1 ? `-${i + 1}` : ""}`),
            size: t.size,
          }));
      const sidecar = join(this.dir, bucket, "meta", `${name}.json`);
      const described: ObjectMeta = { ...meta, key, files, lastModified: new Date().toUTCString() };
      const previous = this.#objects.get(bucket)!.get(key);
      // Renames and the small sidecar, synchronously: metadata operations, cheaper done than queued to the thread pool.
      if (!Buffer.isBuffer(content)) for (const [i, t] of content.entries()) renameSync(t.path, files[i]!.path);
      const tmp = join(this.dir, "tmp", `${version}.json`);
      writeFileSync(
        tmp,
        JSON.stringify(Buffer.isBuffer(content) ? { ...described, data: content.toString("base64") } : described),
      );
      renameSync(tmp, sidecar);
      // The key's bytes in memory are the new object's, or none (a large object's are in its files).
      if (Buffer.isBuffer(content)) this.#keep(sidecar, content);
      else this.#forget(sidecar);
      const full: ObjectMeta = Buffer.isBuffer(content) ? { ...described, inline: sidecar } : described;
      this.#objects.get(bucket)!.set(key, full);
      if (previous) for (const f of previous.files) removeFile(f.path);
      return full;
    } finally {
      this.#committing.delete(id);
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    const index = this.#objects.get(bucket);
    const meta = index?.get(key);
    if (!index || !meta) return;
    index.delete(key);
    const name = createHash("sha256").update(key).digest("hex");
    for (const f of meta.files) removeFile(f.path);
    const sidecar = join(this.dir, bucket, "meta", `${name}.json`);
    this.#forget(sidecar);
    removeFile(sidecar);
  }

  /** Keys in lexical order after `marker`, grouped by `delimiter` into common prefixes. */
  list(
    bucket: string,
    opts: { prefix: string; marker: string; maxKeys: number; delimiter: string },
  ): { objects: ObjectMeta[]; prefixes: string[]; truncated: boolean; next: string } {
    const index = this.#objects.get(bucket);
    const objects: ObjectMeta[] = [];
    const prefixes: string[] = [];
    if (!index) return { objects, prefixes, truncated: false, next: "" };
    let last = "";
    let after = opts.marker;
    for (;;) {
      let grouped: string | undefined;
      for (const key of index.keysFrom(opts.prefix, after)) {
        if (objects.length + prefixes.length >= opts.maxKeys) return { objects, prefixes, truncated: true, next: last };
        const rest = key.slice(opts.prefix.length);
        const cut = opts.delimiter ? rest.indexOf(opts.delimiter) : -1;
        if (cut !== -1) {
          // A common prefix stands for every key under it: the listing goes on after the last of them.
          grouped = opts.prefix + rest.slice(0, cut + opts.delimiter.length);
          prefixes.push(grouped);
          last = index.lastWithPrefix(grouped)!;
          break;
        }
        objects.push(index.get(key)!);
        last = key;
      }
      if (grouped === undefined) return { objects, prefixes, truncated: false, next: "" };
      after = last;
    }
  }

  initUpload(bucket: string, key: string, opts: { contentType: string; userMeta: Record<string, string> }): string {
    if (!this.#objects.has(bucket)) throw new OssFault(404, "NoSuchBucket", "The specified bucket does not exist.");
    const id = randomBytes(16).toString("hex").toUpperCase();
    this.#uploads.set(id, { bucket, key, ...opts, parts: new Map() });
    return id;
  }

  #upload(bucket: string, key: string, uploadId: string): Upload {
    const upload = this.#uploads.get(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key)
      throw new OssFault(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
      );
    return upload;
  }

  async putPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    contentMd5?: string,
  ): Promise<string> {
    const upload = this.#upload(bucket, key, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS)
      throw new OssFault(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.");
    const spooled = await this.#spoolToFile(body);
    if (contentMd5 !== undefined && contentMd5 !== spooled.md5.toString("base64")) {
      removeFile(spooled.file);
      throw new OssFault(400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
    }
    const previous = upload.parts.get(partNumber);
    if (previous) removeFile(previous.file);
    const etag = hex(spooled.md5);
    upload.parts.set(partNumber, { file: spooled.file, etag, md5: spooled.md5, size: spooled.size });
    return etag;
  }

  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    parts: ReadonlyArray<{ partNumber: number; etag: string }>,
    forbidOverwrite: boolean,
  ): Promise<ObjectMeta> {
    const upload = this.#upload(bucket, key, uploadId);
    if (parts.length === 0)
      throw new OssFault(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema.",
      );
    const chosen = parts.map((p, i) => {
      if (i > 0 && p.partNumber <= parts[i - 1]!.partNumber)
        throw new OssFault(
          400,
          "InvalidPartOrder",
          "The list of parts was not in ascending order. Parts must be ordered by part number.",
        );
      const stored = upload.parts.get(p.partNumber);
      if (!stored || stored.etag.toUpperCase() !== normalizeEtag(p.etag))
        throw new OssFault(
          400,
          "InvalidPart",
          "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
        );
      return stored;
    });
    chosen.slice(0, -1).forEach((p) => {
      if (p.size < MIN_PART_SIZE)
        throw new OssFault(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.");
    });
    this.#checkWritable(bucket, key, forbidOverwrite);
    const etag = `"${createHash("md5")
      .update(Buffer.concat(chosen.map((p) => p.md5)))
      .digest("hex")
      .toUpperCase()}-${chosen.length}"`;
    const size = chosen.reduce((s, p) => s + p.size, 0);
    // The parts' files become the object's (renamed, not copied); parts not chosen are removed with the upload.
    const meta = await this.#commit(
      bucket,
      key,
      chosen.map((p) => ({ path: p.file, size: p.size })),
      { size, etag, contentType: upload.contentType, userMeta: upload.userMeta, type: "Multipart" },
      forbidOverwrite,
      false,
    );
    for (const [n, p] of upload.parts) if (chosen.includes(p)) upload.parts.delete(n);
    await this.abort(bucket, key, uploadId);
    return meta;
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    const upload = this.#upload(bucket, key, uploadId);
    this.#uploads.delete(uploadId);
    for (const p of upload.parts.values()) removeFile(p.file);
  }

  /** Multipart uploads begun and neither completed nor aborted: a leak a test can see. */
  openUploads(bucket?: string): Array<{ uploadId: string; key: string }> {
    return [...this.#uploads]
      .filter(([, u]) => !bucket || u.bucket === bucket)
      .map(([uploadId, u]) => ({ uploadId, key: u.key }));
  }
}

/** Removes a file the store owns; one already gone is fine (a crash between a rename and its cleanup leaves none). */
function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

function normalizeEtag(etag: string): string {
  const bare = etag.trim().replace(/^"|"$/g, "").toUpperCase();
  return `"${bare}"`;
}
