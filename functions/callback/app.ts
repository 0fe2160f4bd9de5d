/**
 * The callback function: `/callbacks/nls/{jobId}?sig=…`. The HMAC is checked before anything else (a bad one is 401
 * and changes nothing); the body is only a hint that the task ended, so it is not even parsed: the provider is asked.
 */
import { json } from "../../lib/http/response.js";
import { Router } from "../../lib/http/router.js";
import type { JobRuntime } from "../../lib/jobs/runtime.js";

export function createCallbackRouter(rt: JobRuntime): Router {
  return new Router(rt.log).on("POST", "/callbacks/nls/:jobId", async (request, { params }) => {
    const job = await rt.service.onCallback(params.jobId!, new URL(request.url).searchParams.get("sig"));
    await request.body?.cancel();
    return json(200, { ok: true, state: job.state });
  });
}
