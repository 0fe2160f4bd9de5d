/**
 * Our FC 3.0 async invocation against the official SDK (@alicloud/fc20230330): for the same function, payload,
 * credentials, time and nonce, both send the same request (path, body and signed headers) to a server that records
 * it, and our ACS3-HMAC-SHA256 signer, given the SDK's request, computes the SDK's own Authorization.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import FcModule, { InvokeFunctionHeaders, InvokeFunctionRequest } from "@alicloud/fc20230330";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { acs3Authorization, FcInvoker } from "../../lib/fc/invoker.js";

interface Seen {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

async function recorder(status = 202, answer = "") {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      seen.push({ url: req.url!, headers: req.headers, body });
      res.writeHead(status, { "content-type": "application/json", "x-fc-request-id": "r-1" }).end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { seen, endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

// CommonJS with `exports.default = Client`: vitest hands over the class, Node's ESM interop the exports object.
type SdkClient = {
  invokeFunctionWithOptions(n: string, r: InvokeFunctionRequest, h: InvokeFunctionHeaders, o: object): Promise<unknown>;
};
const sdk = FcModule as unknown as (new (c: object) => SdkClient) | { default: new (c: object) => SdkClient };
const Sdk = typeof sdk === "function" ? sdk : sdk.default;

/** What the signature covers, and the signature itself. */
const signed = (h: IncomingHttpHeaders) =>
  Object.fromEntries(
    Object.entries(h).filter(([k]) => k.startsWith("x-acs-") || ["host", "content-type", "authorization"].includes(k)),
  );

/** The ACS3 Authorization of a recorded request, by our signer. */
const signatureOf = (r: Seen, accessKeyId: string, accessKeySecret: string): string => {
  const { authorization: _, ...headers } = signed(r.headers);
  return acs3Authorization({
    method: "POST",
    pathname: r.url,
    query: {},
    headers: headers as Record<string, string>,
    payloadSha256: String(r.headers["x-acs-content-sha256"]),
    accessKeyId,
    accessKeySecret,
  });
};

describe("FC 3.0 InvokeFunction (async), against the official SDK", () => {
  it("sends what the SDK sends for any function, payload and credentials", async () => {
    const server = await recorder();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,40}$/),
          fc.jsonValue(),
          fc.stringMatching(/^[A-Za-z0-9.]{4,24}$/),
          fc.string({ minLength: 1, maxLength: 30 }),
          fc.option(fc.stringMatching(/^[A-Za-z0-9+/=]{8,60}$/), { nil: undefined }),
          async (name, payload, accessKeyId, accessKeySecret, securityToken) => {
            server.seen.length = 0;
            await new Sdk({
              accessKeyId,
              accessKeySecret,
              securityToken,
              endpoint: server.endpoint,
              protocol: "http",
            }).invokeFunctionWithOptions(
              name,
              new InvokeFunctionRequest({ body: Readable.from([Buffer.from(JSON.stringify(payload))]) }),
              new InvokeFunctionHeaders({ xFcInvocationType: "Async" }),
              {},
            );
            const theirs = server.seen[0]!;
            await new FcInvoker({
              endpoint: server.endpoint,
              protocol: "http",
              credentials: () => ({ accessKeyId, accessKeySecret, securityToken }),
              now: () => new Date(String(theirs.headers["x-acs-date"])),
              nonce: () => String(theirs.headers["x-acs-signature-nonce"]),
            }).invokeAsync(name, payload);
            const ours = server.seen[1]!;
            // Our signer, given the SDK's request as it arrived, computes the SDK's Authorization.
            const { authorization: theirAuthorization, ...theirSigned } = signed(theirs.headers);
            expect(signatureOf(theirs, accessKeyId, accessKeySecret)).toBe(theirAuthorization);
            // Our request is the SDK's, but for the label of the SDK's credential provider, which FC does not need.
            const { authorization: ourAuthorization, ...ourSigned } = signed(ours.headers);
            const { "x-acs-credentials-provider": label, ...theirsUnlabelled } = theirSigned;
            expect(label).toMatch(/^static_(ak|sts)$/);
            expect(ourSigned).toEqual(theirsUnlabelled);
            expect(ours.url).toBe(theirs.url);
            expect(ours.body).toBe(theirs.body);
            expect(ours.headers["x-fc-invocation-type"]).toBe("Async");
            // And what we sent is what we signed.
            expect(signatureOf(ours, accessKeyId, accessKeySecret)).toBe(ourAuthorization);
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      server.close();
    }
  });

  it("refuses with FC's error code, retryable only for throttling and server errors", async () => {
    for (const [status, code, retryable] of [
      [404, "FunctionNotFound", false],
      [429, "TooManyRequests", true],
      [503, "ServiceUnavailable", true],
    ] as const) {
      const server = await recorder(status, JSON.stringify({ Code: code, Message: "m", RequestId: "r" }));
      try {
        const invoker = new FcInvoker({
          endpoint: server.endpoint,
          protocol: "http",
          credentials: () => ({ accessKeyId: "id", accessKeySecret: "secret" }),
        });
        await expect(invoker.invokeAsync("store", { jobId: "j" })).rejects.toMatchObject({ code, retryable });
      } finally {
        server.close();
      }
    }
  });

  it("reports an unreachable endpoint as a retryable network failure", async () => {
    const server = await recorder();
    server.close();
    const invoker = new FcInvoker({
      endpoint: server.endpoint,
      protocol: "http",
      credentials: () => ({ accessKeyId: "id", accessKeySecret: "secret" }),
    });
    await expect(invoker.invokeAsync("store", {})).rejects.toMatchObject({ code: "ECONNREFUSED", retryable: true });
  });
});
