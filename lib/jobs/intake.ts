/**
 * Turning requests and uploaded files into jobs: the HTTP body (`POST /v1/jobs`), an OSS object (upload trigger),
 * their idempotency keys, output keys and per-file options; and the job as the API shows it.
 */
import { createHash } from "node:crypto";
import { InputError } from "../errors.js";
import type { Bucket } from "../storage/bucket.js";
import { decodeUtf8, looksLikeSsml } from "../text/index.js";
import { parseInput } from "../validation.js";
import * as z from "../zod.js";
import { tenantOutputPrefix } from "./output-namespace.js";
import type { ProviderName } from "./providers.js";
import { type Job, JobOptionFieldsSchema, type JobOptions, JobOptionsSchema, SpeechSourceFields } from "./schema.js";
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
  })
  .check(
    z.refine((v) => [v.text, v.ssml, v.input].filter((x) => x !== undefined).length === 1, {
      message: "give exactly one of text, ssml or input",
      path: ["text"],
    }),
  );
export type JobRequest = z.infer<typeof JobRequestSchema>;

const hash = (s: string): string => createHash("sha256").update(s).digest("hex");

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
  if (req.input) {
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
      : `content:${owner}:${hash(JSON.stringify([text, ssml, options, req.output?.key ?? null]))}`;
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
  };
}

function pickOptions(req: JobRequest): Record<string, unknown> {
  const { text: _t, ssml: _s, input: _i, output: _o, ...options } = req;
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** Options for an uploaded file: a sibling `<name>.json`, else the object's metadata (x-oss-meta-voice, …). */
export async function optionsForObject(storage: Bucket, key: string): Promise<{ options: JobOptions; from: string }> {
  const sibling = key.replace(/\.(txt|ssml)$/, ".json");
  const json = await storage.get(sibling);
  if (json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json.toString("utf8"));
    } catch {
      throw new InputError(sibling, "is not valid JSON");
    }
    const etag = (await storage.head(sibling))?.etag.replace(/"/g, "");
    return {
      options: parseInput(JobOptionsSchema, parsed, sibling),
      from: `${sibling}${etag ? ` (ETag ${etag})` : ""}`,
    };
  }
  const meta = (await storage.head(key))?.meta ?? {};
  const fromMeta: Record<string, unknown> = {};
  const number = (v: string | undefined): number | undefined =>
    v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
  if (meta.voice) fromMeta.voice = meta.voice;
  if (meta.provider) fromMeta.provider = meta.provider;
  if (meta.format) fromMeta.format = meta.format;
  for (const [m, f] of [
    ["sample-rate", "sampleRate"],
    ["volume", "volume"],
    ["speech-rate", "speechRate"],
    ["pitch-rate", "pitchRate"],
  ] as const) {
    const n = number(meta[m]);
    if (n !== undefined) fromMeta[f] = n;
  }
  if (meta.subtitles !== undefined)
    fromMeta.subtitles = meta.subtitles
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  return {
    options: parseInput(JobOptionsSchema, fromMeta, "x-oss-meta"),
    from:
      Object.keys(fromMeta).length > 0
        ? "the object's x-oss-meta-* metadata"
        : `defaults (no ${sibling} and no x-oss-meta-* options when the job was made)`,
  };
}

/** `input/a/b.txt` → `output/a/b.mp3`: the same relative path, the format's extension. */
export function outputKeyFor(inputKey: string, inputPrefix: string, outputPrefix: string, format: string): string {
  return `${outputPrefix}${inputKey.slice(inputPrefix.length).replace(/\.(txt|ssml)$/, "")}.${format}`;
}

/**
 * An uploaded `.txt`/`.ssml` becomes a job, or a failed job naming what was wrong: once per bucket + key + ETag +
 * options. The options are part of the key, so the same text with other options (a `.json` uploaded after it, other
 * metadata) is another job, and the same text with the same options is the same job however often it arrives.
 */
export async function jobFromObject(
  key: string,
  etag: string,
  ctx: IntakeContext,
): Promise<{ job: Job; created: boolean }> {
  const upload = `oss:${ctx.storage.bucket}/${key}@${etag}`;
  let idempotencyKey = upload;
  let source: Job["source"] = { kind: "oss", bucket: ctx.storage.bucket, key, etag };
  let options: JobOptions = parseInput(JobOptionsSchema, {});
  try {
    const found = await optionsForObject(ctx.storage, key);
    options = found.options;
    const provider = options.provider ?? ctx.defaultProvider;
    idempotencyKey = `${upload}#${hash(JSON.stringify({ provider, ...options })).slice(0, 16)}`;
    // Which options the job used and where they came from.
    source = { ...source, optionsFrom: found.from };
    const { text } = await readInputText(ctx.storage, key, key);
    const ssml = key.endsWith(".ssml");
    const audioKey = outputKeyFor(key, ctx.inputPrefix, ctx.outputPrefix, options.format);
    return await ctx.service.create({ provider, text, ssml, options, audioKey, idempotencyKey, source });
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    // A refusal is keyed by what was refused: the same mistake delivered again is the same failed job, a corrected
    // options file another attempt.
    if (idempotencyKey === upload) idempotencyKey = `${upload}#refused-${hash(error.message).slice(0, 16)}`;
    const job = await ctx.service.createFailed({
      provider: options.provider ?? ctx.defaultProvider,
      options,
      audioKey: outputKeyFor(key, ctx.inputPrefix, ctx.outputPrefix, options.format),
      idempotencyKey,
      source,
      code: error.code,
      reason: error.message,
    });
    return { job, created: true };
  }
}

/** What an uploaded options file did to the text beside it. */
export type OptionsFileOutcome =
  /** No `.txt`/`.ssml` beside it yet: its text's job will read it when the text arrives. */
  | { readonly state: "waiting"; readonly text: readonly string[] }
  /** The text beside it is made again with these options (a new job), or already was (`created: false`). */
  | { readonly state: "applied"; readonly text: string; readonly jobId: string; readonly created: boolean };

/**
 * An uploaded `<name>.json`: the text beside it (`<name>.txt`, `<name>.ssml`) is made again with its options. A text
 * whose job already used the same options is left as it is (the same key), so a re-delivered event does nothing.
 */
export async function applyOptionsFile(jsonKey: string, ctx: IntakeContext): Promise<OptionsFileOutcome[]> {
  const texts = [".txt", ".ssml"].map((ext) => jsonKey.replace(/\.json$/, ext));
  const outcomes: OptionsFileOutcome[] = [];
  for (const text of texts) {
    const head = await ctx.storage.head(text);
    if (!head) continue;
    const { job, created } = await jobFromObject(text, head.etag.replace(/"/g, ""), ctx);
    outcomes.push({ state: "applied", text, jobId: job.id, created });
  }
  return outcomes.length > 0 ? outcomes : [{ state: "waiting", text: texts }];
}
