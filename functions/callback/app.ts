/**
 * The callback function: `/callbacks/{nls|ice}/{jobId}?sig=…`. The HMAC (and, for ICE with an AuthKey, ICE's own
 * signature) is checked before anything else (a bad one is 401
 * and changes nothing); the body is only a hint that the task ended, so it is not even parsed: the provider is asked.
 */
import { FcHttpEventSchema } from "../../lib/fc/events.js";
import { json } from "../../lib/http/response.js";
import { Router } from "../../lib/http/router.js";
import type { JobRuntime } from "../../lib/jobs/runtime.js";

export function createCallbackRouter(rt: JobRuntime): Router {
  return new Router(rt.log).on("POST", "/callbacks/:provider/:jobId", async (request, { params }) => {
    const provider = params.provider === "nls" || params.provider === "ice" ? params.provider : undefined;
    if (!provider) return json(404, { error: { code: "NotFound", message: `no callbacks for ${params.provider}` } });
    const job = await rt.service.onCallback(provider, params.jobId!, {
      signature: new URL(request.url).searchParams.get("sig"),
      iceTimestamp: request.headers.get("x-ice-timestamp"),
      iceSignature: request.headers.get("x-ice-signature"),
    });
    await request.body?.cancel();
    return json(200, { ok: true, state: job.state });
  });
}

/** What this function is triggered by in s.yaml, and the schema its entry parses those events with (checked by the wiring test). */
export const EVENTS = { triggers: ["http"] as const, schema: FcHttpEventSchema };
