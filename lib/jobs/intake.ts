/**
 * Turning API requests into jobs: the body of `POST /v1/jobs` (text, SSML, an input object, or a book read into its
 * chapters), its idempotency key, and the output and input keys it may name. Uploads are lib/jobs/upload-intake.ts.
 */

import { createHash } from "node:crypto";
import { bookText } from "../books/book.js";
import { BookInputSchema, bookFromInput } from "../books/book-input.js";
import { InputError } from "../errors.js";
import type { Bucket } from "../storage/bucket.js";
import { decodeUtf8, looksLikeSsml } from "../text/index.js";
import { parseInput } from "../validation.js";
import * as z from "../zod.js";
import { bookJobFields } from "./book-job.js";
import { tenantOutputPrefix } from "./output-namespace.js";
import type { ProviderName } from "./providers.js";
import { type Job, JobOptionFieldsSchema, JobOptionsSchema, SpeechSourceFields } from "./schema.js";
import type { JobService, NewJob } from "./service.js";

/** Seed 003 allows 100,000 characters; in UTF-8 that is at most 400,000 bytes, plus room for SSML markup. */
export const MAX_INPUT_BYTES = 2 * 1024 * 1024;

const OptionFields = JobOptionFieldsSchema.shape;

/**
 * @example {"text":"第一章……","voice":"siqi","format":"mp3","sampleRate":16000,"subtitles":["srt","vtt"],"output":{"key":"output/book/ch1.mp3"}}
 */
export const JobRequestSchema = z
  .strictObject({
    ...SpeechSourceFields,
    ...OptionFields,
    book: z.optional(BookInputSchema),
    /** Answer with the quote (what it would bill and take) instead of making the job. */
    dryRun: z.optional(z.boolean()),
  })
  .check(
    z.refine((v) => [v.text, v.ssml, v.input, v.book].filter((x) => x !== undefined).length === 1, {
      message: "give exactly one of text, ssml, input or book",
      path: ["text"],
    }),
  );
export type JobRequest = z.infer<typeof JobRequestSchema>;

export const hash = (s: string): string => createHash("sha256").update(s).digest("hex");

/**
 * A key we may write: under the output prefix, without `..`, not absolute. An audio key (`format` given) must end in
 * its format's extension: the subtitles are written beside it as `<base>.srt` and `<base>.vtt`, so `x.srt` as the
 * audio key would be overwritten by its own subtitles, and ICE writes `<base>.<format>` whatever the key says.
 */
export function checkOutputKey(
  key: string,
  outputPrefix: string,
  field = "output.key",
  format?: string,
  /** Why the prefix is what it is, when it is narrower than the output prefix (a tenant's namespace). */
  whose?: string,
): string {
  if (key.startsWith("/") || key.split("/").includes("..") || /[\u0000-\u001f]/.test(key))
    throw new InputError(field, "must be a relative object key without '..' or control characters");
  // A URL's path drops `.` segments, so such an object could be synthesized (and billed) but never written or read.
  if (key.split("/").includes("."))
    throw new InputError(
      field,
      "must not have a '.' segment (HTTP clients remove it from the path: nothing could be stored)",
    );
  if (!key.startsWith(outputPrefix))
    throw new InputError(
      field,
      whose
        ? `must be under "${outputPrefix}", ${whose}`
        : `must be under the output prefix "${outputPrefix}" (so outputs can never retrigger the input pipeline)`,
    );
  if (Buffer.byteLength(key) > 1000)
    throw new InputError(field, "is longer than OSS allows (1023 bytes with the extension)", { limit: 1000 });
  if (format !== undefined && !key.endsWith(`.${format}`))
    throw new InputError(
      field,
      `must end in ".${format}", the job's format (subtitles are written beside it as .srt and .vtt)`,
      { code: "OutputKeyMismatch" },
    );
  return key;
}

/** A key we may read: under the input prefix (all the role may read), relative, without `..` or control characters. */
export function checkInputKey(key: string, inputPrefix: string, field = "input.key"): string {
  if (key.startsWith("/") || key.split("/").includes("..") || /[\u0000-\u001f]/.test(key))
    throw new InputError(field, "must be a relative object key without '..' or control characters");
  if (!key.startsWith(inputPrefix)) throw new InputError(field, `must be under the input prefix "${inputPrefix}"`);
  return key;
}

/** Reads and decodes an input object: refuses oversized, non-UTF-8 and empty files with the reason. */
export async function readInputText(
  storage: Bucket,
  key: string,
  field = "input.key",
): Promise<{ text: string; etag: string }> {
  const head = await storage.head(key);
  if (!head) throw new InputError(field, `object ${key} does not exist`, { statusCode: 404, code: "NotFound" });
  if (head.size > MAX_INPUT_BYTES)
    throw new InputError(field, `is ${head.size} bytes; at most ${MAX_INPUT_BYTES} are read (100,000 characters)`, {
      limit: MAX_INPUT_BYTES,
      actual: head.size,
      statusCode: 413,
      code: "TextTooLong",
    });
  const bytes = (await storage.get(key)) ?? Buffer.alloc(0);
  const text = decodeUtf8(bytes, field);
  if (text.trim() === "")
    throw new InputError(field, "is empty; there is nothing to synthesize", { code: "EmptyText" });
  return { text, etag: head.etag };
}

/** JSON with object keys sorted, so equal requests have equal digests whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** What turning a request or an upload into a job needs: the bucket, the service, the prefixes, the default provider. */
export interface IntakeContext {
  readonly storage: Bucket;
  readonly service: JobService;
  readonly inputPrefix: string;
  readonly outputPrefix: string;
  readonly defaultProvider: ProviderName;
}

/**
 * A job from `POST /v1/jobs` by `owner` (the API key's digest). Idempotency is scoped per owner: another key's
 * Idempotency-Key or identical text never answers with this owner's job.
 */
export async function jobFromRequest(
  body: unknown,
  idempotencyHeader: string | null,
  owner: string,
  ctx: IntakeContext,
): Promise<NewJob> {
  const req = parseInput(JobRequestSchema, body);
  const options = parseInput(JobOptionsSchema, pickOptions(req));
  if (idempotencyHeader !== null && !/^[\x21-\x7e]{1,128}$/.test(idempotencyHeader))
    throw new InputError("Idempotency-Key", "must be 1-128 printable ASCII characters");
  let text: string;
  let source: Job["source"] = { kind: "inline" };
  const book = req.book ? bookFromInput(req.book) : undefined;
  if (book) text = bookText(book);
  else if (req.input) {
    const read = await readInputText(ctx.storage, checkInputKey(req.input.key, ctx.inputPrefix));
    text = read.text;
    source = { kind: "oss", bucket: ctx.storage.bucket, key: req.input.key, etag: read.etag };
  } else {
    text = (req.text ?? req.ssml)!;
  }
  const ssml = req.ssml !== undefined || (req.input?.key.endsWith(".ssml") === true && looksLikeSsml(text));
  // Without a header, identical content is one job: a client retrying a timed-out POST does not pay twice.
  const idempotencyKey =
    idempotencyHeader !== null
      ? `http:${owner}:${idempotencyHeader}`
      : `content:${owner}:${hash(JSON.stringify([text, ssml, options, req.output?.key ?? null, ...(book ? [book.chapters.map((c) => c.title), req.book?.profile ?? null, req.book?.targetLufs ?? null] : [])]))}`;
  // A key's explicit outputs live in its own namespace (issue 26, defect 5: any key could overwrite, then read,
  // another tenant's output or an upload's). The default key is a digest of the owner's request: nobody can guess it.
  const audioKey = req.output
    ? checkOutputKey(
        req.output.key,
        tenantOutputPrefix(ctx.outputPrefix, owner),
        "output.key",
        options.format,
        "this API key's own outputs; another key's and uploads' are never written",
      )
    : `${ctx.outputPrefix}jobs/${hash(idempotencyKey).slice(0, 24)}.${options.format}`;
  return {
    provider: options.provider ?? ctx.defaultProvider,
    owner,
    fingerprint: hash(canonicalJson(req)).slice(0, 32),
    text,
    ssml,
    options,
    audioKey,
    idempotencyKey,
    source,
    ...(book ? bookJobFields(book, { profile: req.book?.profile, targetLufs: req.book?.targetLufs }) : {}),
  };
}

/**
 * `POST /v1/books`'s body as `POST /v1/jobs` takes it: the book's own fields (those of BookInputSchema) moved under
 * `book`, the job's options and output left where they are. Anything else is refused by the job's schema as usual.
 */
export function bookRequestAsJob(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const bookFields = new Set(Object.keys(BookInputSchema.def.shape));
  const entries = Object.entries(body as Record<string, unknown>);
  return {
    ...Object.fromEntries(entries.filter(([k]) => !bookFields.has(k))),
    book: Object.fromEntries(entries.filter(([k]) => bookFields.has(k))),
  };
}

function pickOptions(req: JobRequest): Record<string, unknown> {
  const { text: _t, ssml: _s, input: _i, output: _o, book: _b, dryRun: _d, ...options } = req;
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
