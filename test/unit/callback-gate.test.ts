/** The callback function refuses a request without a valid signature in its URL before it decodes the body. */
import { describe, expect, it } from "vitest";
import { fcHttpHandler } from "../../functions/_fc/http.js";
import { callbackGate } from "../../functions/callback/app.js";
import { Router } from "../../lib/http/router.js";
import { signJobId } from "../../lib/jobs/callback-signature.js";
import { createLogger } from "../../lib/log.js";

const SECRET = "k".repeat(40);
const event = (path: string, body: string) => ({
  version: "v1",
  rawPath: path,
  body,
  isBase64Encoded: true,
  headers: { "content-type": "application/octet-stream" },
  queryParameters: {},
  requestContext: { requestId: "r1", http: { method: "POST", path } },
});

describe("the callback gate (issue 26, defect 10)", () => {
  it("answers 401 to a bad signature without decoding the body or reaching the router; lets a good one through", async () => {
    let routed = 0;
    const router = new Router(createLogger({ level: "error", write: () => undefined })).on(
      "POST",
      "/callbacks/:p/:j/:s",
      () => {
        routed++;
        return new Response("{}", { status: 200, headers: { "content-type": "application/json" } });
      },
    );
    const handler = fcHttpHandler(() => router, callbackGate(SECRET));
    // A body that is not even Base64: decoding it would fail; the gate answers first.
    const refused = await handler(
      Buffer.from(JSON.stringify(event("/callbacks/nls/job-1/forged", "%%%not-base64%%%"))),
    );
    expect(refused.statusCode).toBe(401);
    expect(routed).toBe(0);
    const legacy = await handler(Buffer.from(JSON.stringify(event("/callbacks/nls/job-1", "e30="))));
    expect(legacy.statusCode).toBe(401);
    const ok = await handler(
      Buffer.from(JSON.stringify(event(`/callbacks/nls/job-1/${signJobId(SECRET, "job-1")}`, "e30="))),
    );
    expect(ok.statusCode).toBe(200);
    expect(routed).toBe(1);
  });
});
