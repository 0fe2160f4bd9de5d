/**
 * A provider's callback: authenticated by the URL's HMAC (and by the provider's own signature where it has one: ICE
 * with an AuthKey), then only a reason to ask the provider itself, or to adopt the task it names.
 */
import { AuthError, InputError } from "../errors.js";
import { callbackUrl, legacyCallbackUrl, verifyJobId } from "./callback-signature.js";
import type { JobContext, JobSteps } from "./job-deps.js";
import type { ProviderName } from "./providers.js";
import type { Job } from "./schema.js";
import type { Submission } from "./submission.js";

export class ProviderCallbacks {
  constructor(
    private readonly ctx: JobContext,
    private readonly submission: Submission,
    private readonly steps: JobSteps,
  ) {}

  async onCallback(
    provider: ProviderName,
    jobId: string,
    auth: { signature: string | null; headers?: Headers; requestUrl?: string },
    /** The task the callback names (read from its body only once it is authenticated). */
    taskHint?: () => Promise<string | undefined>,
  ): Promise<Job> {
    const { deps } = this.ctx;
    if (!verifyJobId(deps.callbackSecret, jobId, auth.signature)) throw new AuthError("invalid callback signature");
    const port = deps.providers[provider];
    if (port?.authenticateCallback) {
      // A provider's own callback signature may cover "the callback URL" without saying which one (ICE): the URL we
      // gave it (path or earlier query form) and the URL the request really arrived at are all offered.
      const base = deps.callbackBaseUrl;
      const urls = [
        ...(base
          ? [
              callbackUrl(base, deps.callbackSecret, jobId, provider),
              legacyCallbackUrl(base, deps.callbackSecret, jobId, provider),
            ]
          : []),
        ...(auth.requestUrl ? [auth.requestUrl] : []),
      ];
      if (!port.authenticateCallback({ urls, headers: auth.headers ?? new Headers(), nowMs: this.ctx.now().getTime() }))
        throw new AuthError(`invalid or stale ${provider} callback signature`);
    }
    const job = await deps.jobs.get(jobId);
    // Only a provider that calls back has callbacks; a job of another provider is not found here.
    if (!job || job.provider !== provider || !port?.callsBack)
      throw new InputError("jobId", `no ${provider} job ${jobId}`, { statusCode: 404, code: "NotFound" });
    // A task whose submitter died (or lost the provider's answer) before noting it: the callback says which it is, and
    // it is adopted rather than made again. The URL is this job's, signed: the task it reports is this job's.
    if (job.state === "queued") {
      const hinted = await taskHint?.().catch(() => undefined);
      if (hinted) {
        const held = await deps.jobs.noteTask(job.id, job.retries ?? 0, hinted);
        return this.submission.adopt(job, held);
      }
    }
    return this.steps.pollTask(job, { force: false });
  }
}
