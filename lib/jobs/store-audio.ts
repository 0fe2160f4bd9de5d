/**
 * The `store` step: stream the provider's audio into the user's bucket with bounded memory, write the subtitles,
 * check the stored size, mark the job done. Running it twice converges on the same objects and one `done`.
 */
import { measuring } from "../audio/audio-meter.js";
import { labelAudio } from "../audio/label-container.js";
import { UpstreamError } from "../errors.js";
import { openDownload } from "../net/http-client.js";
import { assembleParts } from "./assemble-parts.js";
import { partTooShort } from "./coverage-map.js";
import { jobLabel, labelInPlace } from "./job-label.js";
import type { JobProvider } from "./providers.js";
import type { Job } from "./schema.js";
import { CONTENT_TYPES, finish, type StoreDeps } from "./store-finish.js";

export type { StoreDeps };

/** Whether `url` may be fetched: http(s), no credentials, and a host on the allow-list. */
export function isAllowedAudioUrl(url: string, hosts: readonly string[]): boolean {
  if (!URL.canParse(url)) return false;
  const u = new URL(url);
  if (!/^https?:$/.test(u.protocol) || u.username || u.password) return false;
  const host = u.host.toLowerCase();
  return hosts.some((h) => (h.startsWith("*.") ? u.hostname.toLowerCase().endsWith(h.slice(1)) : host === h));
}

/** What the store step does with a job, decided from the record alone (no I/O). */
export type StorePlan =
  | { readonly kind: "skip"; readonly why: string }
  /** A split job: stitch its parts' audio into one object. */
  | { readonly kind: "assemble" }
  /** The provider wrote the audio into our bucket itself (ICE): verify it is there, then write the subtitles. */
  | { readonly kind: "verify-in-bucket" }
  /** The audio URL is not on an allowed host: the job fails, nothing is fetched (an SSRF guard). */
  | { readonly kind: "refuse-url"; readonly host: string }
  /** Copy the audio from the provider's URL into the bucket. */
  | { readonly kind: "copy"; readonly url: string };

export function storePlan(job: Job | undefined, audio: JobProvider["audio"], audioHosts: readonly string[]): StorePlan {
  if (!job || job.state === "done" || job.state === "failed") return { kind: "skip", why: "ended" };
  const synthesized = job.state === "synthesized" || job.state === "stored";
  if (job.parts) return synthesized ? { kind: "assemble" } : { kind: "skip", why: "parts still running" };
  if (!synthesized || !job.task) return { kind: "skip", why: "not synthesized yet" };
  if (audio === "bucket") return { kind: "verify-in-bucket" };
  const url = job.task.audioAddress;
  if (!url) return { kind: "skip", why: "no audio address yet" };
  if (!isAllowedAudioUrl(url, audioHosts))
    return { kind: "refuse-url", host: URL.canParse(url) ? new URL(url).host : url.slice(0, 64) };
  return { kind: "copy", url };
}

export async function storeOutputs(jobId: string, deps: StoreDeps): Promise<"done" | "skipped"> {
  const log = deps.log.child({ jobId });
  const job = await deps.jobs.get(jobId);
  const plan = storePlan(job, job ? deps.service.providerOf(job.provider).audio : "url", deps.audioHosts);
  if (plan.kind === "skip") {
    if (plan.why !== "ended")
      log.warn("store called before the job was synthesized", { state: job?.state, why: plan.why });
    return "skipped";
  }
  if (!job?.task && plan.kind !== "assemble") return "skipped";
  if (plan.kind === "assemble") return assembleParts(job!, deps);
  const synthesized = job!;
  if (plan.kind === "verify-in-bucket")
    return finish(
      synthesized,
      await labelInPlace(synthesized, deps.storage, {
        producer: deps.aigcProducer,
        partSize: deps.partSize,
        contentType: CONTENT_TYPES[synthesized.options.format],
      }),
      synthesized.task!.sentences ?? [],
      deps,
    );
  if (plan.kind === "refuse-url") {
    await deps.service.fail(
      synthesized,
      "UntrustedAudioUrl",
      `the provider's audio address is not on an allowed host (${plan.host})`,
    );
    return "done";
  }
  return copyAndFinish(synthesized, plan.url, deps);
}

async function copyAndFinish(job: Job, audioUrl: string, deps: StoreDeps): Promise<"done" | "skipped"> {
  const log = deps.log.child({ jobId: job.id });
  // A store retried after crashing between the copy and marking done finds its own finished copy (an object exists
  // only once its upload completed) and does not download and write the audio a second time.
  const previous = await deps.storage.head(job.output.audioKey);
  if (
    previous?.meta.jobid === job.id &&
    previous.meta.sourcebytes !== undefined &&
    previous.size === Number(previous.meta.sourcebytes) + Number(previous.meta.labelbytes ?? 0)
  ) {
    log.info("audio already copied by an earlier attempt", { bytes: previous.size });
    return finish(job, previous, job.task?.sentences ?? [], deps);
  }
  // Streamed; the idle timeout guards a stalled download (not the whole copy). A failure to connect is worth retrying.
  const res = await openDownload(audioUrl).catch((error: Error & { code?: string }) => {
    throw new UpstreamError({
      provider: job.provider,
      code: error.code ?? "NetworkError",
      upstreamMessage: `audio download failed: ${error.code ?? error.message}`,
      retryable: true,
      cause: error,
    });
  });
  const status = res.statusCode ?? 0;
  if (status === 404 || status === 403) {
    res.resume();
    await deps.service.fail(
      job,
      "AudioExpired",
      `the provider no longer serves the audio (HTTP ${status})${retentionOf(deps, job)}`,
    );
    return "done";
  }
  if (status !== 200) {
    res.resume();
    throw new UpstreamError({
      provider: job.provider,
      code: `HTTP${status}`,
      upstreamMessage: `audio download answered HTTP ${status}${status >= 300 && status < 400 ? " (a redirect: not followed, it could lead off the allowed hosts)" : ""}`,
      retryable: status < 300 || status >= 400,
    });
  }
  const expected = Number(res.headers["content-length"] ?? Number.NaN);
  // The audio carries its AI-generated-content label in its container; only its head is read to place it.
  // A part's length is measured as it passes, to catch audio cut off where no timings can show it.
  const length = { ms: 0 };
  const source = job.parent ? measuring(job.options.format, job.options.sampleRate, res, length) : res;
  const labelled = await labelAudio(job.options.format, source, jobLabel(job, deps.aigcProducer)).catch(
    (error: Error) => {
      res.destroy();
      throw new UpstreamError({
        provider: job.provider,
        code: "InvalidAudio",
        upstreamMessage: `the provider's audio cannot be labelled: ${error.message}`,
        retryable: false,
      });
    },
  );
  const meta = {
    jobid: job.id,
    labelbytes: String(labelled.addedBytes),
    ...(Number.isFinite(expected) ? { sourcebytes: String(expected) } : {}),
  };
  const written = await deps.storage.putStream(job.output.audioKey, labelled.stream, {
    contentType: CONTENT_TYPES[job.options.format],
    partSize: deps.partSize,
    meta,
  });
  // OSS answered the upload (one PutObject, or the completion of its parts, each with its Content-MD5) only once it
  // held exactly the bytes sent: what is left to check is that they were all the provider's.
  if (Number.isFinite(expected) && written.size !== expected + labelled.addedBytes)
    throw new UpstreamError({
      provider: job.provider,
      code: "SizeMismatch",
      upstreamMessage: `the audio download gave ${written.size - labelled.addedBytes} of the ${expected} bytes announced`,
      retryable: true,
    });
  const short = await partTooShort(job, length.ms, { ...deps, log });
  if (short) {
    await deps.service.fail(job, "TruncatedAudio", short);
    return "done";
  }
  const stored = { key: job.output.audioKey, size: written.size, etag: written.etag ?? "", meta };
  return finish(job, stored, job.task?.sentences ?? [], deps);
}

/** What the job's provider says of how long it keeps audio, for a failure's reason, if it says. */
function retentionOf(deps: StoreDeps, job: Job): string {
  try {
    const says = deps.service.providerOf(job.provider).retention?.says;
    return says ? `; audio is kept for a limited time (${says})` : "";
  } catch {
    return "";
  }
}
