/**
 * The job record: one long-text synthesis from input to stored audio and subtitles.
 * States: queued → submitted → synthesized → stored → done, or failed with a reason from any state before done.
 */
import { z } from "zod";
import { LongTextInputSchema, SentenceSchema } from "../providers/nls/long-text.js";
import { findNlsVoice } from "../voices/index.js";
import { ProviderNameSchema } from "./provider-name.js";

export const JobStateSchema = z.enum(["queued", "submitted", "synthesized", "stored", "done", "failed"]);
export type JobState = z.infer<typeof JobStateSchema>;

/** The options a job is synthesized with (seed 003's tts_request, camelCase). */
const longText = LongTextInputSchema.shape;

/**
 * The voice of a job that names none: siqi, which has timestamps (the NLS voice table), so a job with no options gets
 * subtitles. (NLS's own default, xiaoyun, has none: an upload with no options would get audio and nothing else.)
 */
export const DEFAULT_JOB_VOICE = "siqi";

/** An object in the bucket named by its key (a job's or a batch item's `input` and `output`). */
const ObjectRefSchema = z.object({ key: z.string().min(1) }).strict();

/** What to say and where to put it: the fields a job request and a batch item share (which of them is required differs). */
export const SpeechSourceFields = {
  text: z.string().optional(),
  ssml: z.string().optional(),
  input: ObjectRefSchema.optional(),
  output: ObjectRefSchema.optional(),
};

export const JobOptionFieldsSchema = z
  .object({
    voice: z.string().min(1).default(DEFAULT_JOB_VOICE),
    format: longText.format,
    sampleRate: longText.sampleRate,
    volume: longText.volume,
    speechRate: longText.speechRate,
    pitchRate: longText.pitchRate,
    /** nls or ice; the deployment's JOBS_DEFAULT_PROVIDER when absent. */
    provider: ProviderNameSchema.optional(),
    /** ICE only: a cloned voice's VoiceId (seed 002's EditingConfig.customizedVoice). */
    customizedVoice: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "a cloned voice's VoiceId (letters, digits, '_' or '-')")
      .optional(),
    /** ICE only: whether ICE may overwrite an existing output object (seed 002's Overwrite). */
    overwrite: z.boolean().optional(),
    /** Defaults to both when the voice has timestamps (seeds 000/003), to none otherwise. */
    subtitles: z
      .array(z.enum(["srt", "vtt"]))
      .max(2)
      .optional(),
  })
  .strict();

export const JobOptionsSchema = JobOptionFieldsSchema.transform((o) => ({
  ...o,
  subtitles: o.subtitles ?? (findNlsVoice(o.voice)?.timestamps ? ["srt" as const, "vtt" as const] : []),
}));
export type JobOptions = z.infer<typeof JobOptionsSchema>;

/** Where the text came from; the decoded text itself is always kept beside the record. */
export const JobSourceSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("inline") }),
  /** An object in the bucket (OSS upload trigger or `input` in the request). */
  z.object({
    kind: z.literal("oss"),
    bucket: z.string(),
    key: z.string(),
    etag: z.string(),
    /** For an upload: where its options came from (a sibling .json and its ETag, metadata, or defaults). */
    optionsFrom: z.string().optional(),
  }),
]);

export const JobSchema = z.object({
  id: z.string().regex(/^[0-9a-z-]{8,64}$/),
  state: JobStateSchema,
  provider: ProviderNameSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The API key's owner id (a digest, never the key) for jobs created through the API; only it may read the job. */
  owner: z.string().optional(),
  /** A digest of the creating request, to refuse an idempotency key reused for a different request. */
  fingerprint: z.string().optional(),
  idempotencyKey: z.string(),
  source: JobSourceSchema,
  ssml: z.boolean(),
  characters: z.number().int(),
  options: JobOptionFieldsSchema.required({ subtitles: true }),
  output: z.object({ audioKey: z.string(), srtKey: z.string().optional(), vttKey: z.string().optional() }),
  task: z
    .object({
      id: z.string(),
      submittedAt: z.string(),
      checkedAt: z.string().optional(),
      audioAddress: z.string().optional(),
      finishedAt: z.string().optional(),
      sentences: z.array(SentenceSchema).optional(),
    })
    .optional(),
  result: z.object({ size: z.number().int(), storedAt: z.string() }).optional(),
  /** What became of the subtitles: asked for, written, and why not when they were not. */
  subtitles: z
    .object({
      requested: z.array(z.enum(["srt", "vtt"])),
      written: z.array(z.enum(["srt", "vtt"])),
      reason: z.string().optional(),
    })
    .optional(),
  /** A part of a longer job (text beyond the provider's limit): the parent's id and this part's index. */
  parent: z.object({ id: z.string(), index: z.number().int() }).optional(),
  /** An item of an EventBridge batch: the batch's id and the item's id. */
  batch: z.object({ id: z.string(), item: z.string() }).optional(),
  /** A job split into parts: each part is a job of its own, synthesized in parallel and stitched at the end. */
  parts: z
    .array(
      z.object({
        jobId: z.string(),
        characters: z.number().int(),
        /** Characters billed by earlier attempts at this part that were synthesized and then failed (and were replaced). */
        billedBefore: z.number().int().optional(),
      }),
    )
    .optional(),
  failure: z.object({ code: z.string(), reason: z.string(), at: z.string() }).optional(),
  /** Provider tasks submitted for this job so far beyond the first (a task that failed transiently is resubmitted). */
  retries: z.number().int().optional(),
});
export type Job = z.infer<typeof JobSchema>;

const NEXT: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ["submitted", "failed"],
  // Back to queued when the provider's task itself failed with a transient code: a new task is submitted.
  submitted: ["synthesized", "queued", "failed"],
  synthesized: ["stored", "failed"],
  stored: ["done", "failed"],
  done: [],
  failed: [],
};

export const isTerminal = (state: JobState): boolean => state === "done" || state === "failed";

/** The next record, or undefined when the move is not allowed from the current state (a stale or repeated event). */
export function transition(job: Job, to: JobState, patch: Partial<Job>, now: Date): Job | undefined {
  if (!NEXT[job.state].includes(to)) return undefined;
  return { ...job, ...patch, state: to, updatedAt: now.toISOString() };
}
