/**
 * The callback function: `/callbacks/{nls|ice}/{jobId}/{sig}` (and the earlier `/callbacks/{nls|ice}/{jobId}?sig=…`). The HMAC (and, for ICE with an AuthKey, ICE's own
 * signature) is checked before anything else (a bad one is 401
 * and changes nothing); the body is only a hint (which task ended), read after the signature held: the provider is
 * asked.
 */
import { AuthError } from "../../lib/errors.js";
import { json } from "../../lib/http/response.js";
import { Router } from "../../lib/http/router.js";
import { verifyJobId } from "../../lib/jobs/callback-signature.js";
import { ProviderNameSchema } from "../../lib/provider-registry.js";
import type { JobRuntime } from "../../lib/runtime.js";
import { FcHttpEventSchema } from "../_fc/events.js";

export function createCallbackRouter(rt: JobRuntime): Router {
  const handle = async (request: Request, params: Readonly<Record<string, string>>): Promise<Response> => {
    const parsed = ProviderNameSchema.safeParse(params.provider);
    const provider = parsed.success ? parsed.data : undefined;
    if (!provider)
      return json(404, { error: { code: "NotFound", message: `no callbacks for ${params.provider!.slice(0, 32)}` } });
    const url = new URL(request.url);
    const job = await rt.service.onCallback(
      provider,
      params.jobId!,
      {
        // The signature in the path (current URLs), or in the query (URLs given to providers before the path form).
        signature: params.sig ?? url.searchParams.get("sig"),
        headers: request.headers,
        requestUrl: `${url.origin}${url.pathname}${url.search}`,
      },
      // Read only after the signature held: which task ended (NLS: `data.task_id`; ICE: `JobId`, unconfirmed).
      async () => taskIdOf(await request.text()),
    );
    await request.body?.cancel().catch(() => undefined);
    return json(200, { ok: true, state: job.state });
  };
  return new Router(rt.log)
    .on("POST", "/callbacks/:provider/:jobId/:sig", (request, { params }) => handle(request, params))
    .on("POST", "/callbacks/:provider/:jobId", (request, { params }) => handle(request, params));
}

/**
 * Refuses a callback whose URL carries no valid signature before its body is decoded or parsed: an unauthenticated
 * 32 MB POST costs the event's own bytes, not a decode (issue 26, defect 10). The router checks it again, with ICE's.
 */
export function callbackGate(secret: string): (headers: Headers, url: URL) => void {
  return (_headers, url) => {
    const m = /^\/callbacks\/[^/]+\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
    const jobId = m ? decodeURIComponent(m[1]!) : "";
    const signature = m?.[2] ? decodeURIComponent(m[2]) : url.searchParams.get("sig");
    if (!verifyJobId(secret, jobId, signature)) throw new AuthError("invalid callback signature");
  };
}

/** The task a callback body names, when it names one: a hint from the authenticated caller; its status is the provider's. */
function taskIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { data?: { task_id?: unknown }; JobId?: unknown };
    const id = parsed.data?.task_id ?? parsed.JobId;
    return typeof id === "string" && /^[\w-]{1,128}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** What this function is triggered by in s.yaml, and the schema its entry parses those events with (checked by the wiring test). */
export const EVENTS = { triggers: ["http"] as const, schema: FcHttpEventSchema };
