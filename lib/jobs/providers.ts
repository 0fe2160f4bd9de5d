/**
 * The long-text providers behind one port, so the job flow is the same for NLS (audio fetched from a URL) and ICE
 * (audio written into our bucket by ICE itself).
 */
import type { BudgetApi } from "../budget/apis.js";
import { InputError } from "../errors.js";
import type { ProviderName } from "../provider-registry.js";
import {
  MINIMAX_AUDIO_URL_MS,
  MINIMAX_CALL_MS,
  MINIMAX_DEFAULT_MODEL,
  MINIMAX_TEXT_LIMIT,
  type MinimaxClient,
  type MinimaxInput,
  minimaxVoiceSetting,
} from "../providers/dashscope/minimax.js";
import { ICE_JOB_DEADLINE_MS, ICE_TEXT_LIMIT, type IceClient } from "../providers/ice/client.js";
import {
  LONG_TEXT_DEADLINE_MS,
  LONG_TEXT_LIMIT,
  LONG_TEXT_RETENTION_MS,
  type NlsLongTextClient,
  type Sentence,
} from "../providers/nls/long-text.js";
import { codePointCount } from "../text/count.js";
import { verifyIceSignature } from "./callback-signature.js";
import type { Job, JobOptions } from "./schema.js";

export type { ProviderName } from "../provider-registry.js";

export type ProviderStatus =
  | { readonly state: "pending" }
  | { readonly state: "success"; readonly audioAddress?: string; readonly sentences: Sentence[] };

export interface JobProvider {
  readonly name: ProviderName;
  /** The quota its submissions count against (lib/budget/apis.ts). */
  readonly api: BudgetApi;
  /**
   * The longest its submitting call may take: a budget lease lapses after it. A synchronous provider synthesizes in
   * the call; the others only accept a task.
   */
  readonly callMs: number;
  /**
   * An estimate of how long its tasks take per character billed, for quotes: no provider documents a pace, so these
   * are this project's own figures (about 10× faster than speech, which runs at about 4 Chinese characters a second).
   */
  readonly paceMsPerCharacter: number;
  /** True when submitting synthesizes in the same call (MiniMax): the job is then submitted through FC's queue. */
  readonly synchronous?: boolean;
  /**
   * Where the finished audio is: at a URL the provider serves, which `store` copies into the bucket (NLS, MiniMax),
   * or already in our bucket at the job's audio key, written by the provider (ICE).
   */
  readonly audio: "url" | "bucket";
  /** Whether the provider calls our callback URL when a task ends (NLS, ICE); without it jobs are polled. */
  readonly callsBack: boolean;
  /** The most characters one task takes (seed 003: 100,000; seed 002: 10,000); longer jobs are split into parts. */
  readonly limit: number;
  /** Validates text and options by the provider's own rules; returns the characters it will bill. No I/O. */
  validate(text: string, ssml: boolean, options: JobOptions): { characters: number };
  /** Submits; returns the provider's task or job id. */
  submit(job: Job, text: string, notifyUrl: string | undefined): Promise<string>;
  /**
   * The provider's own authentication of a callback, when it has one (ICE's X-ICE-SIGNATURE): true when one of `urls`
   * (the URLs the callback may have been signed over) verifies with these headers at `nowMs`.
   */
  authenticateCallback?(callback: {
    readonly urls: readonly string[];
    readonly headers: Headers;
    readonly nowMs: number;
  }): boolean;
  /** The provider's truth about a task; a failed task throws its UpstreamError. */
  status(taskId: string): Promise<ProviderStatus>;
  /**
   * How long one task may take before its job fails (a split job's parts each get their own), and the reason's words
   * for it: the provider's promise, or our limit where its documents make none.
   */
  readonly deadline: ProviderLimit;
  /** How long finished audio waits at the provider for `store` to copy it; absent when it writes into our bucket. */
  readonly retention?: ProviderLimit;
}

/** A time limit of a provider's and what it is, in words a job's failure reason can use. */
export interface ProviderLimit {
  readonly ms: number;
  /** E.g. "the 3 hours NLS promises for a long-text task". */
  readonly says: string;
}

function input(text: string, ssml: boolean, options: JobOptions): Record<string, unknown> {
  return {
    [ssml ? "ssml" : "text"]: text,
    voice: options.voice,
    format: options.format,
    sampleRate: options.sampleRate,
    volume: options.volume,
    speechRate: options.speechRate,
    pitchRate: options.pitchRate,
  };
}

export function nlsProvider(client: NlsLongTextClient): JobProvider {
  const prepare = (text: string, ssml: boolean, options: JobOptions) => {
    if (options.customizedVoice !== undefined)
      throw new InputError("customizedVoice", 'cloned voices need provider "ice"');
    if (options.overwrite !== undefined) throw new InputError("overwrite", 'applies to provider "ice" only');
    return { ...input(text, ssml, options), enableSubtitle: options.subtitles.length > 0 };
  };
  return {
    name: "nls",
    api: "nls-long-text",
    callMs: 60_000,
    paceMsPerCharacter: 25,
    audio: "url",
    callsBack: true,
    limit: LONG_TEXT_LIMIT,
    deadline: { ms: LONG_TEXT_DEADLINE_MS, says: "the 3 hours NLS promises for a long-text task" },
    retention: { ms: LONG_TEXT_RETENTION_MS, says: "the 7 days NLS keeps a task's audio" },
    validate: (text, ssml, options) => ({
      characters: codePointCount(inJobTerms(() => client.prepare(prepare(text, ssml, options))).text),
    }),
    submit: async (job, text, notifyUrl) =>
      (await client.submit(prepare(text, job.ssml, job.options), { notifyUrl, context: { job_id: job.id } })).taskId,
    status: async (taskId) => {
      const s = await client.status(taskId);
      return s.state === "success"
        ? { state: "success", audioAddress: s.audioAddress, sentences: s.sentences }
        : { state: "pending" };
    },
  };
}

/**
 * The long-text client speaks NLS's fields (`enableSubtitle`); a job's user wrote `subtitles`. A refusal names the
 * field the user wrote, and what to do about it.
 */
function inJobTerms<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof InputError && error.field === "enableSubtitle") {
      throw new InputError(
        "subtitles",
        `${error.message.replace(/^enableSubtitle: /, "")}, or ask for none ("subtitles": [])`,
        { code: error.code },
      );
    }
    throw error;
  }
}

/** ICE writes `<object>.<format>`: the object is the audio key without its extension. */
export function iceObjectFor(audioKey: string): string {
  return audioKey.replace(/\.[^./]+$/, "");
}

/** ICE; with `authKey` (SetEventCallback's AuthKey), callbacks must carry ICE's valid signature within five minutes. */
export function iceProvider(client: IceClient, bucket: string, authKey?: string): JobProvider {
  const prepare = (text: string, ssml: boolean, options: JobOptions) => ({
    ...input(text, ssml, options),
    ...(options.customizedVoice ? { customizedVoice: options.customizedVoice } : {}),
    overwrite: options.overwrite ?? true,
  });
  return {
    name: "ice",
    api: "ice",
    callMs: 60_000,
    paceMsPerCharacter: 25,
    audio: "bucket",
    callsBack: true,
    deadline: { ms: ICE_JOB_DEADLINE_MS, says: "the 3 hours this deployment gives an ICE audio job" },
    ...(authKey
      ? {
          authenticateCallback: ({ urls, headers, nowMs }) =>
            urls.some((url) =>
              verifyIceSignature({
                url,
                timestamp: headers.get("x-ice-timestamp"),
                signature: headers.get("x-ice-signature"),
                authKey,
                nowMs,
              }),
            ),
        }
      : {}),
    limit: ICE_TEXT_LIMIT,
    validate: (text, ssml, options) => ({
      characters: client.prepare(prepare(text, ssml, options), { bucket, object: "validation" }).InputConfig.length,
    }),
    submit: async (job, text, notifyUrl) =>
      (
        await client.submit(
          prepare(text, job.ssml, job.options),
          { bucket, object: iceObjectFor(job.output.audioKey) },
          notifyUrl,
        )
      ).jobId,
    status: async (jobId) => {
      const s = await client.status(jobId);
      return s.state === "success" ? { state: "success", sentences: s.sentences } : { state: "pending" };
    },
  };
}

/**
 * MiniMax on DashScope is synchronous: submitting synthesizes, with `output_format: "url"` (valid 24 h), and the
 * task id carries that URL, so the status needs no state of its own. Subtitles are not requested (the subtitle file's
 * format is not in seed 004).
 */
export function minimaxProvider(client: MinimaxClient, model = MINIMAX_DEFAULT_MODEL): JobProvider {
  const input = (text: string, ssml: boolean, options: JobOptions): MinimaxInput => {
    if (ssml) throw new InputError("ssml", 'provider "minimax" takes plain text, not SSML');
    // Refused up front rather than answered with empty files: this pipeline gets no sentence timings from MiniMax.
    if (options.subtitles.length > 0)
      throw new InputError(
        "subtitles",
        'provider "minimax" gives no sentence timings here, so it cannot make subtitles; ask for none ("subtitles": []) or use provider "nls" or "ice"',
        { code: "SubtitlesUnsupported" },
      );
    if (options.customizedVoice !== undefined || options.overwrite !== undefined)
      throw new InputError(
        options.customizedVoice !== undefined ? "customizedVoice" : "overwrite",
        'applies to provider "ice" only',
      );
    return {
      text,
      voice_setting: minimaxVoiceSetting(options.voice, options),
      audio_setting: { sample_rate: options.sampleRate, format: options.format, bitrate: 128000, channel: 1 },
      output_format: "url",
    };
  };
  return {
    name: "minimax",
    api: "minimax",
    callMs: 4 * MINIMAX_CALL_MS, // the client's three attempts and its backoff between them
    paceMsPerCharacter: 25,
    audio: "url",
    callsBack: false,
    limit: MINIMAX_TEXT_LIMIT,
    // Synthesis happens in the submitting call; the limit only ends a job whose submission never went through.
    deadline: { ms: 3 * 3600_000, says: "the 3 hours this deployment gives a MiniMax job" },
    retention: { ms: MINIMAX_AUDIO_URL_MS, says: "the 24 hours MiniMax's audio URL is valid" },
    synchronous: true,
    validate: (text, ssml, options) => ({
      characters: codePointCount(client.prepare(model, input(text, ssml, options)).input.text),
    }),
    submit: async (job, text) =>
      `url:${Buffer.from((await client.synthesize(model, input(text, job.ssml, job.options))).url ?? "").toString("base64url")}`,
    status: async (taskId) => ({
      state: "success",
      audioAddress: Buffer.from(taskId.slice(4), "base64url").toString("utf8"),
      sentences: [],
    }),
  };
}
