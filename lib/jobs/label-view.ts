/**
 * `GET /v1/jobs/{id}/label`: the AI-generated-content label read back from the stored audio itself (its ID3v2 tag or
 * its WAV INFO chunk), or from the sidecar of raw PCM, so what a user downloads is what is checked.
 */
import type { OutputLabel } from "../audio/aigc-label.js";
import { readLabel } from "../audio/label-container.js";
import { InputError } from "../errors.js";
import type { Bucket, StreamingBucket } from "../storage/bucket.js";
import { labelSidecarKey } from "./job-label.js";
import type { Job } from "./schema.js";

/** The head of an audio object read for its label: an ID3v2 tag or a WAV's chunks before its data. */
const LABEL_HEAD_BYTES = 64 * 1024;

export async function storedLabel(
  job: Job,
  storage: Pick<Bucket, "get" | "head"> & Pick<StreamingBucket, "getRange">,
): Promise<{ label: OutputLabel; from: string; key: string }> {
  if (job.state !== "done")
    throw new InputError("id", `job ${job.id} is ${job.state}; its label is read from its audio once it is done`, {
      statusCode: 409,
      code: "NotDone",
    });
  const key = job.output.audioKey;
  if (job.options.format === "pcm") {
    const sidecar = labelSidecarKey(key);
    const body = await storage.get(sidecar);
    if (body) return { label: JSON.parse(body.toString("utf8")) as OutputLabel, from: "sidecar", key: sidecar };
  } else {
    const size = (await storage.head(key))?.size ?? 0;
    const head = size > 0 ? await storage.getRange(key, 0, Math.min(size, LABEL_HEAD_BYTES) - 1) : Buffer.alloc(0);
    const label = readLabel(head);
    if (label) return { label, from: job.options.format === "mp3" ? "ID3v2.4 TXXX:AIGC" : "RIFF LIST/INFO ICMT", key };
  }
  throw new InputError("id", `the audio of job ${job.id} carries no AIGC label (made before labels were written)`, {
    statusCode: 404,
    code: "NoLabel",
  });
}
