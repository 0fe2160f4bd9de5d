/**
 * Jobs from uploads: a text object under the input prefix becomes a job, its options from a sibling `<name>.json` or
 * the object's metadata, its outputs beside its name under the output prefix; an options file uploaded after its
 * text makes the text again with those options.
 */
import { InputError } from "../errors.js";
import type { Bucket } from "../storage/bucket.js";
import { parseInput } from "../validation.js";
import { bookJobFields } from "./book-job.js";
import { bookOfObject } from "./book-object.js";
import { hash, type IntakeContext, readInputText } from "./intake.js";
import { type Job, type JobOptions, JobOptionsSchema } from "./schema.js";

/** Options for an uploaded file: a sibling `<name>.json`, else the object's metadata (x-oss-meta-voice, …). */
export async function optionsForObject(storage: Bucket, key: string): Promise<{ options: JobOptions; from: string }> {
  const sibling = key.replace(UPLOAD_SUFFIX, ".json");
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

/** The uploads that become jobs: text, SSML, and books (Markdown, EPUB). */
export const UPLOAD_SUFFIX = /\.(txt|ssml|md|epub)$/;
const UPLOAD_EXTENSIONS = [".txt", ".ssml", ".md", ".epub"];

/** `input/a/b.txt` → `output/a/b.mp3`: the same relative path, the format's extension. */
export function outputKeyFor(inputKey: string, inputPrefix: string, outputPrefix: string, format: string): string {
  return `${outputPrefix}${inputKey.slice(inputPrefix.length).replace(UPLOAD_SUFFIX, "")}.${format}`;
}

/**
 * An uploaded `.txt`/`.ssml` (or a book, `.md`/`.epub`) becomes a job, or a failed job naming what was wrong: once per bucket + key + ETag +
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
    const book = await bookOfObject(ctx.storage, key, key);
    const said = book ? bookJobFields(book) : { text: (await readInputText(ctx.storage, key, key)).text };
    const ssml = key.endsWith(".ssml");
    const audioKey = outputKeyFor(key, ctx.inputPrefix, ctx.outputPrefix, options.format);
    return await ctx.service.create({
      provider,
      ...said,
      ssml,
      options,
      audioKey,
      idempotencyKey,
      source,
    });
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
  /** No text, SSML or book beside it yet: its job will read it when that arrives. */
  | { readonly state: "waiting"; readonly text: readonly string[] }
  /** The text beside it is made again with these options (a new job), or already was (`created: false`). */
  | { readonly state: "applied"; readonly text: string; readonly jobId: string; readonly created: boolean };

/**
 * An uploaded `<name>.json`: the text beside it (`<name>.txt`, `<name>.ssml`) is made again with its options. A text
 * whose job already used the same options is left as it is (the same key), so a re-delivered event does nothing.
 */
export async function applyOptionsFile(jsonKey: string, ctx: IntakeContext): Promise<OptionsFileOutcome[]> {
  const texts = UPLOAD_EXTENSIONS.map((ext) => jsonKey.replace(/\.json$/, ext));
  const outcomes: OptionsFileOutcome[] = [];
  for (const text of texts) {
    const head = await ctx.storage.head(text);
    if (!head) continue;
    const { job, created } = await jobFromObject(text, head.etag.replace(/"/g, ""), ctx);
    outcomes.push({ state: "applied", text, jobId: job.id, created });
  }
  return outcomes.length > 0 ? outcomes : [{ state: "waiting", text: texts }];
}
