import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { FcInvoker } from "../../lib/fc/invoker.js";

describe("FcInvoker", () => {
  it("calls FC 3.0 InvokeFunction asynchronously with the payload as the body, signed with the role's STS credentials", async () => {
    const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(202, { "content-type": "application/json", "x-fc-request-id": "r-1" }).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const invoker = new FcInvoker({
        endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
        protocol: "http",
        credentials: () => ({ accessKeyId: "STS.id", accessKeySecret: "sts-secret", securityToken: "sts-token" }),
        functionPrefix: "tts-",
      });
      await invoker.invokeAsync("store", { jobId: "job-1" });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        method: "POST",
        url: "/2023-03-30/functions/tts-store/invocations",
        body: '{"jobId":"job-1"}',
      });
      expect(seen[0]!.headers["x-fc-invocation-type"]).toBe("Async");
      expect(seen[0]!.headers["x-acs-security-token"]).toBe("sts-token");
      expect(String(seen[0]!.headers.authorization)).toMatch(/^ACS3-HMAC-SHA256 Credential=STS\.id/);
    } finally {
      server.close();
    }
  });
});
