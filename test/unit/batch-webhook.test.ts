/** The batch's completion webhook: signed, deduplicable, never sent to a private address, never following a redirect. */
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchWebhooks } from "../../lib/batches/webhook.js";
import { createLogger } from "../../lib/log.js";

const log = createLogger({ level: "error", write: () => undefined });
const received: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
let status = 200;
let server: Server;
let url = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(status, status === 302 ? { location: "http://169.254.169.254/" } : {}).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("the batch webhook", () => {
  const now = () => new Date("2026-12-06T00:00:00Z");

  it("signs the timestamp and body, and names the delivery to dedupe on", async () => {
    const hooks = new BatchWebhooks({ secret: "k".repeat(32), log, allow: () => true, now });
    status = 200;
    const outcome = await hooks.send(url, "b1:final", { state: "done" });
    expect(outcome).toEqual({ status: 200 });
    const got = received.at(-1)!;
    expect(JSON.parse(got.body)).toEqual({ id: "b1:final", state: "done" });
    expect(got.headers["x-tts-delivery"]).toBe("b1:final");
    const timestamp = String(got.headers["x-tts-timestamp"]);
    expect(timestamp).toBe(String(Date.parse("2026-12-06T00:00:00Z") / 1000));
    const expected = createHmac("sha256", "k".repeat(32)).update(`${timestamp}.${got.body}`).digest("hex");
    expect(got.headers["x-tts-signature"]).toBe(`v1=${expected}`);
  });

  it("records a refusal or a redirect as the outcome, without following or retrying it", async () => {
    const hooks = new BatchWebhooks({ secret: "k".repeat(32), log, allow: () => true, now });
    status = 404;
    const before = received.length;
    expect(await hooks.send(url, "b2:final", {})).toEqual({ status: 404 });
    status = 302;
    expect(await hooks.send(url, "b3:final", {})).toMatchObject({
      status: 302,
      error: expect.stringMatching(/redirect/),
    });
    expect(received.length - before).toBe(2);
  });

  it("refuses a private address up front, naming the field, and never connects to one", async () => {
    const hooks = new BatchWebhooks({ secret: "k".repeat(32), log, now });
    expect(() => hooks.check("http://10.0.0.1/hook")).toThrow(expect.objectContaining({ field: "data.notify.url" }));
    expect(() => hooks.check("https://hooks.example.com/x")).not.toThrow();
    const before = received.length;
    expect(await hooks.send(url, "b4:final", {})).toMatchObject({ error: expect.any(String) });
    expect(received.length).toBe(before);
  });
});
