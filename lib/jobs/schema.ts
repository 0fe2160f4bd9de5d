/**
 * The job record: one long-text synthesis from input to stored audio and subtitles.
 * States: queued → submitted → synthesized → stored → done, or failed with a reason from any state before done.
 */

import { BOOK_PROFILES } from "../audio/book-encoding.js";
import { ProviderNameSchema } from "../provider-registry.js";
import { LongTextInputSchema, SentenceSchema } from "../providers/nls/long-text.js";
import { findNlsVoice } from "../voices/index.js";
import * as z from "../zod.js";

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
const ObjectRefSchema = z.strictObject({ key: z.string().check(z.minLength(1)) });

/** What to say and where to put it: the fields a job request and a batch item share (which of them is required differs). */
export const SpeechSourceFields = {
  text: z.optional(z.string()),
  ssml: z.optional(z.string()),
  input: z.optional(ObjectRefSchema),
  output: z.optional(ObjectRefSchema),
};

export const JobOptionFieldsSchema = z.strictObject({
  voice: z._default(z.string().check(z.minLength(1)), DEFAULT_JOB_VOICE),
  format: longText.format,
  sampleRate: longText.sampleRate,
  volume: longText.volume,
  speechRate: longText.speechRate,
  pitchRate: longText.pitchRate,
  /** nls or ice; the deployment's JOBS_DEFAULT_PROVIDER when absent. */
  provider: z.optional(ProviderNameSchema),
  /** ICE only: a cloned voice's VoiceId (seed 002's EditingConfig.customizedVoice). */
  customizedVoice: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, "a cloned voice's VoiceId (letters, digits, '_' or '-')")),
  ),
  /** ICE only: whether ICE may overwrite an existing output object (seed 002's Overwrite). */
  overwrite: z.optional(z.boolean()),
  /** Defaults to both when the voice has timestamps (seeds 000/003), to none otherwise. */
  subtitles: z.optional(z.array(z.enum(["srt", "vtt"])).check(z.maxLength(2))),
  /**
   * The AI-generated-content label. Every output carries it in its metadata; `audible: true` also speaks a notice
   * (AIGC_NOTICE_TEXT) at the start, in the job's voice, with every cue shifted by the notice's measured length.
   */
  label: z.optional(z.strictObject({ audible: z._default(z.boolean(), false) })),
});

export const JobOptionsSchema = z.pipe(
  JobOptionFieldsSchema,
  z.transform((o) => ({
    ...o,
    subtitles: o.subtitles ?? (findNlsVoice(o.voice)?.timestamps ? ["srt" as const, "vtt" as const] : []),
  })),
);
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
    optionsFrom: z.optional(z.string()),
  }),
]);

/** What a book job is made into: its tags and profile, and, once stored, where each output is and whether it conforms. */
export const BookSettingsSchema = z.object({
  title: z.optional(z.string()),
  author: z.optional(z.string()),
  profile: z.enum(BOOK_PROFILES),
  targetLufs: z.optional(z.number()),
  /** The cover image, kept under the jobs prefix from the EPUB's cover. */
  coverKey: z.optional(z.string()),
  outputs: z.optional(
    z.object({
      m4bKey: z.string(),
      reportKey: z.string(),
      conforms: z.boolean(),
      failed: z.array(z.string()),
      chapters: z.array(
        z.object({
          title: z.string(),
          startMs: z.number(),
          endMs: z.number(),
          audioKey: z.string(),
          srtKey: z.optional(z.string()),
          vttKey: z.optional(z.string()),
        }),
      ),
    }),
  ),
});
export type BookSettings = z.infer<typeof BookSettingsSchema>;

export const JobSchema = z.object({
  id: z.string().check(z.regex(/^[0-9a-z-]{8,64}$/)),
  state: JobStateSchema,
  provider: ProviderNameSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The API key's owner id (a digest, never the key) for jobs created through the API; only it may read the job. */
  owner: z.optional(z.string()),
  /** A digest of the creating request, to refuse an idempotency key reused for a different request. */
  fingerprint: z.optional(z.string()),
  idempotencyKey: z.string(),
  source: JobSourceSchema,
  ssml: z.boolean(),
  characters: z.int(),
  options: z.required(JobOptionFieldsSchema, { subtitles: true }),
  output: z.object({ audioKey: z.string(), srtKey: z.optional(z.string()), vttKey: z.optional(z.string()) }),
  task: z.optional(
    z.object({
      id: z.string(),
      submittedAt: z.string(),
      checkedAt: z.optional(z.string()),
      audioAddress: z.optional(z.string()),
      finishedAt: z.optional(z.string()),
      sentences: z.optional(z.array(SentenceSchema)),
    }),
  ),
  /**
   * When the provider's synthesis ended (every part's, for a job in parts): from then on the job holds no provider
   * task, and a batch item's slot has been handed on.
   */
  synthesizedAt: z.optional(z.string()),
  result: z.optional(z.object({ size: z.int(), storedAt: z.string() })),
  /** What became of the subtitles: asked for, written, and why not when they were not. */
  subtitles: z.optional(
    z.object({
      requested: z.array(z.enum(["srt", "vtt"])),
      written: z.array(z.enum(["srt", "vtt"])),
      reason: z.optional(z.string()),
    }),
  ),
  /** Which of the text's sentences the audio holds, by the provider's timings (lib/jobs/coverage-map.ts). */
  coverage: z.optional(
    z.object({
      heard: z.int(),
      total: z.int(),
      /** The first missing sentences' indexes (at most 100; the map lists them all). */
      missing: z.array(z.int()),
      mapKey: z.string(),
    }),
  ),
  /** How the joins of a job in parts sound, measured in its output (lib/jobs/seam-report.ts); the map lists each. */
  seams: z.optional(
    z.object({
      joins: z.int(),
      outOfBounds: z.int(),
      worstPauseOverBoundMs: z.number(),
      worstLoudnessStepLu: z.optional(z.number()),
      clicks: z.int(),
      trimmedMs: z.number(),
      mapKey: z.string(),
    }),
  ),
  /** A book: its tags, its profile, and once stored its outputs beyond the audio (lib/jobs/render-audiobook.ts). */
  book: z.optional(BookSettingsSchema),
  /** A book's chapters: each one's title and the part it starts with (the parts are cut at chapter ends too). */
  chapters: z.optional(z.array(z.object({ title: z.string(), part: z.int() }))),
  /** A part of a longer job (text beyond the provider's limit): the parent's id and this part's index. */
  parent: z.optional(z.object({ id: z.string(), index: z.int(), batchId: z.optional(z.string()) })),
  /** An item of an EventBridge batch: the batch's id and the item's id. */
  batch: z.optional(z.object({ id: z.string(), item: z.string() })),
  /** A job split into parts: each part is a job of its own, synthesized in parallel and stitched at the end. */
  parts: z.optional(
    z.array(
      z.object({
        jobId: z.string(),
        characters: z.int(),
        /** Characters billed by earlier attempts at this part that were synthesized and then failed (and were replaced). */
        billedBefore: z.optional(z.int()),
      }),
    ),
  ),
  failure: z.optional(z.object({ code: z.string(), reason: z.string(), at: z.string() })),
  /** Cancelled by its owner (or its batch's): when, and the characters its tasks that had started billed. */
  cancelled: z.optional(z.object({ at: z.string(), billedCharacters: z.int() })),
  /** Provider tasks submitted for this job so far beyond the first (a task that failed transiently is resubmitted). */
  retries: z.optional(z.int()),
});
export type Job = z.infer<typeof JobSchema>;

/** The state machine: the states each state may move to. */
export const NEXT_STATES: Readonly<Record<JobState, readonly JobState[]>> = {
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
  if (!NEXT_STATES[job.state].includes(to)) return undefined;
  const at = now.toISOString();
  return { ...job, ...patch, state: to, updatedAt: at, ...(to === "synthesized" ? { synthesizedAt: at } : {}) };
}
