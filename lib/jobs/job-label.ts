/**
 * A job's AI-generated-content label: what its audio carries in its container (lib/audio/label-container.ts), or,
 * for raw PCM, in a sidecar beside it.
 */
import { type OutputLabel, outputLabel } from "../audio/aigc-label.js";
import { labelAudio, readLabel } from "../audio/label-container.js";
import type { StreamingBucket } from "../storage/bucket.js";
import type { ObjectInfo } from "../storage/oss-types.js";
import type { Job } from "./schema.js";

/** The label a job's audio carries: AI-generated, by whom, its content number (the job id), what synthesized it. */
export function jobLabel(job: Job, producer?: string): OutputLabel {
  const model = (job.options as { model?: string }).model;
  return outputLabel({
    producer,
    contentId: job.id,
    synthesis: { provider: job.provider, ...(model ? { model } : {}), voice: job.options.voice },
  });
}

/** Raw PCM has no container: its label is written beside it (`output/a/b.aigc.json`). */
export function labelSidecarKey(audioKey: string): string {
  return `${audioKey.replace(/\.[^./]+$/, "")}.aigc.json`;
}

/**
 * Audio the provider wrote into the bucket itself (ICE) gets its label as the other outputs do: rewritten once, in
 * place, when it does not carry this job's label yet (a re-run finds it labelled and writes nothing). An object is
 * replaced only when its new upload completes, so a crash leaves the provider's audio or the labelled one.
 */
export async function labelInPlace(
  job: Job,
  storage: StreamingBucket,
  opts: { readonly producer?: string; readonly partSize?: number; readonly contentType?: string },
): Promise<ObjectInfo | undefined> {
  const key = job.output.audioKey;
  const format = job.options.format;
  const info = await storage.head(key);
  if (!info || info.size === 0 || format === "pcm") return info;
  const wanted = jobLabel(job, opts.producer);
  const current = readLabel(await storage.getRange(key, 0, Math.min(info.size, 64 * 1024) - 1));
  if (JSON.stringify(current) === JSON.stringify(wanted)) return info;
  const labelled = await labelAudio(format, await storage.getStream(key), wanted);
  await storage.putStream(key, labelled.stream, {
    contentType: opts.contentType,
    partSize: opts.partSize,
    meta: { jobid: job.id },
  });
  return storage.head(key);
}

/** Raw PCM has no container for the label: it is written beside the audio (a part's is its parent's to write). */
export async function writeLabelSidecar(job: Job, storage: StreamingBucket, producer?: string): Promise<void> {
  if (job.options.format !== "pcm" || job.parent) return;
  await storage.put(labelSidecarKey(job.output.audioKey), JSON.stringify(jobLabel(job, producer)), {
    contentType: "application/json",
  });
}
