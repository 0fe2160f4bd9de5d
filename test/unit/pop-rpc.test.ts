/**
 * Our POP RPC client against @alicloud/pop-core's RPCClient: for the same call, time and nonce, both send the same
 * request (query for GET, form body for POST) to a server that records it.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import Core from "@alicloud/pop-core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PopRpcClient, PopRpcError } from "../../lib/providers/pop-rpc.js";

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly type: string | undefined;
  readonly body: string;
}

async function recorder(answer = '{"RequestId":"r","Token":{"Id":"t","ExpireTime":2000000000}}') {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, type: req.headers["content-type"], body });
      res.writeHead(200, { "content-type": "application/json" }).end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const creds = { accessKeyId: "STS.id", accessKeySecret: "secret value", securityToken: "tok+en/=" };

describe("POP RPC requests, against pop-core", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  for (const [action, method, params] of [
    ["CreateToken", "GET", {}],
    [
      "SubmitAudioProduceJob",
      "POST",
      {
        InputConfig: "第一句话。It's (a) *test*! 100% ~ok~ & <b>",
        EditingConfig: JSON.stringify({ voice: "xiaoyun", format: "MP3", sample_rate: 16000 }),
        Overwrite: true,
      },
    ],
  ] as const) {
    it(`sends what pop-core sends for ${action} (${method})`, async () => {
      const server = await recorder();
      try {
        vi.useFakeTimers({ now: new Date("2026-11-30T14:20:05.678Z"), toFake: ["Date"] });
        const theirs = new Core.RPCClient({
          endpoint: server.url,
          apiVersion: "2020-11-09",
          credentialsProvider: { getCredentials: async () => creds },
        });
        await theirs.request(action, params as Record<string, string | boolean>, { method, timeout: 5000 });
        vi.useRealTimers();
        // The same parameters, signature included, reach the server: compare them as the server reads them. The
        // nonce is pop-core's (random), given to ours.
        const read = (s: Seen) =>
          Object.fromEntries(new URLSearchParams(method === "GET" ? s.url.slice(2) : s.body).entries());
        const popCore = read(server.seen[0]!);
        const ours = new PopRpcClient({ endpoint: server.url, apiVersion: "2020-11-09", credentials: () => creds });
        const signed = await ours.signed(
          action,
          params,
          method,
          new Date("2026-11-30T14:20:05.678Z"),
          popCore.SignatureNonce,
        );
        expect(signed).toEqual(popCore);
        await ours.request(action, params, { method });
        const [a, b] = server.seen;
        expect(b!.method).toBe(a!.method);
        expect(b!.type).toBe(a!.type);
        expect(read(b!).Signature).toBeDefined();
        expect(Object.keys(read(b!)).sort()).toEqual(Object.keys(read(a!)).sort());
      } finally {
        server.close();
      }
    });
  }

  it("reads a Code answer as a refusal with the server's data, and a body that is not JSON as InvalidResponse", async () => {
    const refused = await recorder('{"Code":"Forbidden.NoPermission","Message":"no","RequestId":"r1"}');
    const garbled = await recorder("<html>");
    try {
      const ours = (url: string) => new PopRpcClient({ endpoint: url, apiVersion: "2019-02-28", credentials: creds });
      const e1 = await ours(refused.url)
        .request("CreateToken")
        .catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(PopRpcError);
      expect(e1).toMatchObject({
        code: "Forbidden.NoPermission",
        name: "Forbidden.NoPermissionError",
        data: { RequestId: "r1" },
      });
      const e2 = await ours(garbled.url)
        .request("CreateToken")
        .catch((e: unknown) => e);
      expect(e2).toMatchObject({ code: "InvalidResponse", statusCode: 200 });
    } finally {
      refused.close();
      garbled.close();
    }
  });
});
