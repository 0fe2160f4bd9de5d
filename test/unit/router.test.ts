/** The edge's HTTP plumbing: the router, its error boundary, request bodies within limits, and request targets. */
import { describe, expect, it } from "vitest";
import { InputError } from "../../lib/errors.js";
import { guarded, headersOf, rawHttpError, requestUrl, safeHost } from "../../lib/http/boundary.js";
import { json, readJson } from "../../lib/http/response.js";
import { Router } from "../../lib/http/router.js";
import { createLogger } from "../../lib/log.js";

const lines: string[] = [];
const log = createLogger({ level: "debug", write: (line) => void lines.push(line) });
const req = (method: string, path: string, init: RequestInit = {}) =>
  new Request(`http://local${path}`, { method, ...init });

describe("the router", () => {
  const router = new Router(log)
    .on("GET", "/v1/jobs/:id", (_r, { params }) => json(200, { id: params.id }))
    .on(["POST", "PUT"], "/v1/things", async (r) => json(201, await readJson(r, 32)))
    .on("GET", "/boom", () => {
      throw new Error("secret internal detail");
    })
    .on("GET", "/refuse", () => {
      throw new InputError("voice", "is not a voice", { statusCode: 422 });
    });

  it("routes by method and path, with decoded parameters and the request's id", async () => {
    const res = await router.handle(req("GET", "/v1/jobs/a%20b"), { requestId: "r-1" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: "a b" });
    expect(res.headers.get("x-request-id")).toBe("r-1");
    // HEAD is served by the GET route.
    expect((await router.handle(req("HEAD", "/v1/jobs/x"))).status).toBe(200);
    // FC's request id is the default.
    const fc = await router.handle(req("GET", "/v1/jobs/x", { headers: { "x-fc-request-id": "fc-9" } }));
    expect(fc.headers.get("x-request-id")).toBe("fc-9");
  });

  it("answers 404 for an unknown path and 405 with Allow for a known path's other method", async () => {
    const missing = await router.handle(req("GET", "/nowhere"));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "NotFound" } });
    const wrong = await router.handle(req("DELETE", "/v1/things"));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST, PUT");
  });

  it("turns malformed percent-encoding into a 400 naming the parameter, never a 5xx", async () => {
    const res = await router.handle(req("GET", "/v1/jobs/%ZZ"));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { field: "id" } });
  });

  it("answers an InputError with its status and an unexpected error with a 500 that tells nothing", async () => {
    const refused = await router.handle(req("GET", "/refuse"));
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ error: { field: "voice" } });
    const boom = await router.handle(req("GET", "/boom"));
    expect(boom.status).toBe(500);
    expect(await boom.text()).not.toContain("secret internal detail");
  });

  it("refuses a body over its limit with 413, by its declared length or as it is read", async () => {
    const declared = await router.handle(
      req("POST", "/v1/things", { body: '{"a":1}', headers: { "content-length": "999" } }),
    );
    expect(declared.status).toBe(413);
    const read = await router.handle(req("POST", "/v1/things", { body: JSON.stringify({ a: "x".repeat(64) }) }));
    expect(read.status).toBe(413);
    expect((await router.handle(req("PUT", "/v1/things", { body: '{"a":1}' }))).status).toBe(201);
    expect((await router.handle(req("POST", "/v1/things"))).status).toBe(400);
  });
});

describe("the error boundary", () => {
  it("keeps a throw or a rejection inside, logs it and lets the caller answer", async () => {
    const answered: unknown[] = [];
    const sync = guarded(
      log,
      "sync listener",
      () => {
        throw new Error("sync");
      },
      (error) => answered.push(error),
    );
    const rejected = guarded(
      log,
      "async listener",
      async () => {
        throw new Error("async");
      },
      (error) => answered.push(error),
    );
    const failingAnswer = guarded(
      log,
      "answer",
      () => {
        throw new Error("first");
      },
      () => {
        throw new Error("second");
      },
    );
    expect(() => sync()).not.toThrow();
    rejected();
    expect(() => failingAnswer()).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(answered.map((e) => (e as Error).message)).toEqual(["sync", "async"]);
    expect(lines.some((l) => l.includes("answer failed, and so did answering it"))).toBe(true);
  });
});

describe("request targets and headers", () => {
  it("reads origin-form and absolute-form targets, and never trusts a malformed Host", () => {
    expect(requestUrl({ url: "/v1/stream?x=1", headers: { host: "api.example.com" } })?.href).toBe(
      "http://api.example.com/v1/stream?x=1",
    );
    expect(requestUrl({ url: "http://other.example.com/a", headers: { host: "h" } })?.pathname).toBe("/a");
    expect(requestUrl({ url: "/a", headers: { host: "evil.com/@x" } })?.host).toBe("localhost");
    expect(requestUrl({ url: "*", headers: {} })).toBeUndefined();
    expect(safeHost("[::1]:9000", "f")).toBe("[::1]:9000");
    expect(safeHost("a b", "f")).toBe("f");
  });

  it("drops header values WHATWG Headers refuses instead of throwing", () => {
    const headers = headersOf({ headers: { good: "1", many: ["a", "b"], bad: "x\u0000y" } });
    expect(headers.get("good")).toBe("1");
    expect(headers.get("many")).toBe("a, b");
    expect(headers.has("bad")).toBe(false);
  });

  it("writes a complete raw HTTP error for a socket that is not upgraded", () => {
    const raw = rawHttpError(401, "Unauthorized", "missing key");
    expect(raw).toMatch(/^HTTP\/1\.1 401 /);
    expect(raw).toContain('"code":"Unauthorized"');
    expect(raw).toMatch(/\r\n\r\n\{/);
  });
});
