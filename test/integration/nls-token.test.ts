import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../lib/errors.js";
import { NlsTokenClient } from "../../lib/providers/nls/token.js";
import { useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud();

function tokenClient(overrides: Partial<ConstructorParameters<typeof NlsTokenClient>[0]> = {}): NlsTokenClient {
  const c = cloud();
  return new NlsTokenClient({
    endpoint: c.urls.nlsMeta,
    credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret },
    retry: { baseMs: 1 },
    ...overrides,
  });
}

async function fakeMeta(
  handler: (res: import("node:http").ServerResponse) => void,
): Promise<{ url: string; close: () => void; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    handler(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close() && server.closeAllConnections(),
    hits: () => hits,
  };
}

describe("NlsTokenClient", () => {
  it("gets a token the gateway accepts and reuses it until shortly before it expires", async () => {
    let now = Date.now();
    const client = tokenClient({ now: () => now, refreshMarginMs: 60_000 });
    const [a, b] = await Promise.all([client.token(), client.token()]);
    expect(a).toBe(b);
    expect(cloud().nls.tokens.check(a).ok).toBe(true);
    expect(await client.token()).toBe(a);
    now += 86_400_000 - 30_000; // inside the refresh margin
    const c = await client.token();
    expect(c).not.toBe(a);
  });

  it("fetches a new token after invalidate()", async () => {
    const client = tokenClient();
    const first = await client.token();
    client.invalidate(first);
    expect(await client.token()).not.toBe(first);
  });

  it("passes STS credentials' security token", async () => {
    const c = cloud();
    c.credentials.add({
      accessKeyId: "STS.nls",
      accessKeySecret: "sts-secret",
      securityToken: "sts/token+=",
      userId: c.accessKey.userId,
    });
    const ok = tokenClient({
      credentials: () => ({ accessKeyId: "STS.nls", accessKeySecret: "sts-secret", securityToken: "sts/token+=" }),
    });
    expect(await ok.token()).toMatch(/^[0-9a-f]{32}$/);
    const missing = tokenClient({ credentials: { accessKeyId: "STS.nls", accessKeySecret: "sts-secret" } });
    await expect(missing.token()).rejects.toMatchObject({ providerCode: "InvalidSecurityToken.Mismatch" });
  });

  it("fails a wrong secret with the POP code, without the signed URL or key in the message", async () => {
    const c = cloud();
    const error = await tokenClient({ credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: "wrong" } })
      .token()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ providerCode: "SignatureDoesNotMatch", retryable: false });
    expect(JSON.stringify({ m: (error as Error).message, u: (error as UpstreamError).upstreamMessage })).not.toContain(
      c.accessKey.accessKeyId,
    );
    expect((error as Error).message).not.toContain("Signature=");
  });

  it("treats an HTTP 500 without Code (which pop-core resolves as success) as a retryable failure", async () => {
    const meta = await fakeMeta((res) =>
      res.writeHead(500, { "content-type": "application/json" }).end('{"Message":"internal"}'),
    );
    try {
      const error = await tokenClient({ endpoint: meta.url })
        .token()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ providerCode: "InvalidTokenResponse", retryable: true });
      expect(meta.hits()).toBe(3);
    } finally {
      meta.close();
    }
  });

  it("times out a silent endpoint with our timeout, not pop-core's 3 s default", async () => {
    const meta = await fakeMeta(() => undefined);
    try {
      const started = Date.now();
      const error = await tokenClient({ endpoint: meta.url, timeoutMs: 200, retry: { attempts: 1 } })
        .token()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ retryable: true });
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      meta.close();
    }
  });
});
