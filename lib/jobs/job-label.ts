/**
 * A job's AI-generated-content label: what its audio carries in its container (lib/audio/label-container.ts), or,
 * for raw PCM, in a sidecar beside it.
 */
import { type OutputLabel, outputLabel } from "../audio/aigc-label.js";
import type { Job } from "./schema.js";

/** The label a job's audio carries: AI-generated, by whom, its content number (the job id), what synthesized it. */
export function jobLabel(job: Job, producer = "fc-tts-pipeline"): OutputLabel {
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
