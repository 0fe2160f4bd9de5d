/**
 * The long-text providers behind one port, so the job flow is the same for NLS (audio fetched from a URL) and ICE
 * (audio written into our bucket by ICE itself).
 */
import { InputError } from "../errors.js";
import { ICE_TEXT_LIMIT, type IceClient } from "../providers/ice/client.js";
import { LONG_TEXT_LIMIT, type NlsLongTextClient, type Sentence } from "../providers/nls/long-text.js";
import type { Job, JobOptions } from "./schema.js";

export type ProviderName = Job["provider"];

export type ProviderStatus = { readonly state: "pending" } | { readonly state: "success"; readonly audioAddress?: string; readonly sentences: Sentence[] };

export interface JobProvider {
  /** The most characters one task takes (seed 003: 100,000; seed 002: 10,000); longer jobs are split into parts. */
  readonly limit: number;
  /** Validates text and options by the provider's own rules; returns the characters it will bill. No I/O. */
  validate(text: string, ssml: boolean, options: JobOptions): { characters: number };
  /** Submits; returns the provider's task or job id. */
  submit(job: Job, text: string, notifyUrl: string | undefined): Promise<string>;
  /** The provider's truth about a task; a failed task throws its ProviderError. */
  status(taskId: string): Promise<ProviderStatus>;
}

function input(text: string, ssml: boolean, options: JobOptions): Record<string, unknown> {
  return { [ssml ? "ssml" : "text"]: text, voice: options.voice, format: options.format, sampleRate: options.sampleRate, volume: options.volume, speechRate: options.speechRate, pitchRate: options.pitchRate };
}

export function nlsProvider(client: NlsLongTextClient): JobProvider {
  const prepare = (text: string, ssml: boolean, options: JobOptions) => {
    if (options.customizedVoice !== undefined) throw new InputError("customizedVoice", 'cloned voices need provider "ice"');
    if (options.overwrite !== undefined) throw new InputError("overwrite", 'applies to provider "ice" only');
    return { ...input(text, ssml, options), enableSubtitle: options.subtitles.length > 0 };
  };
  return {
    limit: LONG_TEXT_LIMIT,
    validate: (text, ssml, options) => ({ characters: Array.from(client.prepare(prepare(text, ssml, options)).text).length }),
    submit: async (job, text, notifyUrl) => (await client.submit(prepare(text, job.ssml, job.options), { notifyUrl, context: { job_id: job.id } })).taskId,
    status: async (taskId) => {
      const s = await client.status(taskId);
      return s.state === "success" ? { state: "success", audioAddress: s.audioAddress, sentences: s.sentences } : { state: "pending" };
    },
  };
}

/** ICE writes `<object>.<format>`: the object is the audio key without its extension. */
export function iceObjectFor(audioKey: string): string {
  return audioKey.replace(/\.[^./]+$/, "");
}

export function iceProvider(client: IceClient, bucket: string): JobProvider {
  const prepare = (text: string, ssml: boolean, options: JobOptions) => ({ ...input(text, ssml, options), ...(options.customizedVoice ? { customizedVoice: options.customizedVoice } : {}), overwrite: options.overwrite ?? true });
  return {
    limit: ICE_TEXT_LIMIT,
    validate: (text, ssml, options) => ({ characters: client.prepare(prepare(text, ssml, options), { bucket, object: "validation" }).InputConfig.length }),
    submit: async (job, text, notifyUrl) => (await client.submit(prepare(text, job.ssml, job.options), { bucket, object: iceObjectFor(job.output.audioKey) }, notifyUrl)).jobId,
    status: async (jobId) => {
      const s = await client.status(jobId);
      return s.state === "success" ? { state: "success", sentences: s.sentences } : { state: "pending" };
    },
  };
}
