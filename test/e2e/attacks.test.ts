/**
 * Attacks on the stream function's server, sent as an attacker would: raw bytes on a TCP socket, hostile WebSocket
 * frames, huge frames before any credential, clients that stop reading. After each, the server is still up and still
 * answers (a crash here would end every stream on the instance).
 */
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";
import { cosyCommand, cosyRunTask, nlsStart } from "../helpers/wire.js";

const cloud = useLocalCloud({ gateway: { frameBytes: 2048 } });
const stream = useStreamServer(cloud, { TTS_CACHE: "false" }, { stallTimeoutMs: 400, idleTimeoutMs: 2000 });

/** Sends raw bytes and resolves with everything the server answered before it closed (or 1 s passed). */
function raw(bytes: string | Buffer, wait = 1000): Promise<string> {
  const port = Number(new URL(stream().url).port);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    const done = (): void => resolve(Buffer.concat(chunks).toString("latin1"));
    socket.on("data", (d) => chunks.push(d));
    socket.on("close", done);
    socket.on("error", done);
    setTimeout(() => {
      socket.destroy();
      done();
    }, wait);
  });
}

async function stillUp(): Promise<void> {
  const res = await fetch(`${stream().url}/healthz`);
  expect(res.status).toBe(200);
}

const start = (taskId: string, text = "你好。") => nlsStart(text, { taskId });

/** Opens a WebSocket, sends `frames`, and collects text frames until the server closes. */
function wsSession(
  path: string,
  frames: Array<string | Buffer>,
  headers: Record<string, string> = { "X-NLS-Token": API_KEY },
): Promise<{ texts: string[]; code: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${stream().wsUrl}${path}`, { headers });
    const texts: string[] = [];
    ws.on("open", () => {
      for (const f of frames) ws.send(f);
    });
    ws.on("message", (d, binary) => void (!binary && texts.push(d.toString())));
    ws.on("close", (code) => resolve({ texts, code }));
    ws.on("error", reject);
  });
}

afterEach(async () => {
  await stillUp();
});

describe("stream server: no request crashes it", () => {
  it.each([
    ["a Host of a:b", "GET /healthz HTTP/1.1\r\nHost: a:b\r\n\r\n", /^HTTP\/1\.1 200/],
    ["an absolute-form target", "GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 200/],
    [
      "an absolute-form target with a bad port",
      "GET http://x:99999/healthz HTTP/1.1\r\nHost: x\r\n\r\n",
      /^HTTP\/1\.1 (200|400)/,
    ],
    ["an asterisk target", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 400/],
    ["a TRACE request", "TRACE /healthz HTTP/1.1\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 405/],
    ["a Host that is a URL", "GET /healthz HTTP/1.1\r\nHost: http://evil/\r\n\r\n", /^HTTP\/1\.1 200/],
    ["a malformed percent-encoding", "GET /v1/%ZZ HTTP/1.1\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 404/],
  ])("answers %s and stays up", async (_name, request, expected) => {
    const answer = await raw(request);
    expect(answer).toMatch(expected);
    expect(answer).not.toMatch(/^HTTP\/1\.1 5/);
  });

  it.each([
    [
      "a Host of a:b",
      `GET /ws/v1 HTTP/1.1\r\nHost: a:b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-NLS-Token: ${API_KEY}\r\n\r\n`,
      /^HTTP\/1\.1 101/,
    ],
    [
      "an absolute-form target",
      `GET http://x/ws/v1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      /^HTTP\/1\.1 101/,
    ],
    [
      "a protocol-relative target",
      `GET //a:b/ws/v1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      /^HTTP\/1\.1 404/,
    ],
    [
      "an asterisk target",
      `GET * HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      /^HTTP\/1\.1 400/,
    ],
    [
      "a bad WebSocket key",
      `GET /api-ws/v1/inference HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\nAuthorization: Bearer ${API_KEY}\r\n\r\n`,
      /^HTTP\/1\.1 400/,
    ],
  ])("answers an upgrade with %s and stays up", async (_name, request, expected) => {
    expect(await raw(request, 500)).toMatch(expected);
  });

  it.each([
    "null",
    "42",
    '"text"',
    "[]",
    "true",
    '{"header":null}',
    '{"header":"x"}',
    '{"header":{"task_id":{"a":1}}}',
  ])("answers the NLS frame %s with TaskFailed", async (frame) => {
    const { texts } = await wsSession("/ws/v1", [frame]);
    expect(texts).toHaveLength(1);
    const failed = JSON.parse(texts[0]!);
    expect(failed.header.name).toBe("TaskFailed");
    expect(failed.header.status).toBeGreaterThanOrEqual(40000000);
  });

  it.each(["null", "42", '"text"', "[]", '{"header":null}', '{"header":{"action":"continue-task","task_id":["x"]}}'])(
    "answers the DashScope frame %s with task-failed",
    async (frame) => {
      const ws = new WebSocket(`${stream().wsUrl}/api-ws/v1/inference`, {
        headers: { authorization: `bearer ${API_KEY}` },
      });
      const first = await new Promise<string>((resolve, reject) => {
        ws.on("open", () => ws.send(frame));
        ws.once("message", (d) => resolve(d.toString()));
        ws.on("error", reject);
      });
      expect(JSON.parse(first).header.event).toBe("task-failed");
      ws.close();
    },
  );
});

describe("stream server: POST /v1/stream on node:http keeps the router's order", () => {
  it("refuses a missing key before reading the body, and a declared oversized body before it is sent", async () => {
    // Only the headers are sent: the answer comes without waiting for a body that never arrives.
    const noKey = await raw(
      "POST /v1/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
    );
    expect(noKey).toMatch(/^HTTP\/1\.1 401 /);
    expect(noKey).toMatch(/x-request-id: \S+/i);
    const huge = await raw(
      `POST /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 413 /);
    expect(huge).toMatch(/"code":"BodyTooLarge"/);
    await stillUp();
  });
});

describe("stream server: tokens", () => {
  it("mints a browser token for a POST with no body at all (curl -X POST)", async () => {
    const answer = await raw(
      `POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nConnection: close\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 201/);
    expect(answer).toMatch(/"token":"[\w-]+\.[\w-]+"/);
  });
});

describe("stream server: our credentials never reach a client", () => {
  it("relays a gateway refusal that quotes our NLS token without the token, over WebSocket and HTTP", async () => {
    cloud().nls.gateway.faults.refuseTokens = 2; // the first try and the one retry with a fresh token
    const { texts } = await wsSession("/ws/v1", [start(randomUUID().replace(/-/g, ""))]);
    const failed = JSON.parse(texts.at(-1)!);
    expect(failed.header).toMatchObject({ name: "TaskFailed", status: 40000001 });
    expect(failed.header.status_text).toMatch(/The token '\[redacted\]' is invalid!/);
    cloud().nls.gateway.faults.refuseTokens = 2;
    const res = await fetch(`${stream().url}/v1/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "令牌被拒绝了。", format: "pcm" }),
    });
    const body = await res.text();
    expect(res.status).toBe(502);
    expect(body).not.toMatch(/[0-9a-f]{32}/);
    // Nor did the proxy log it.
    const issued = stream().logs.join("\n");
    expect(issued).not.toMatch(/The token '[0-9a-f]{32}'/);
  });
});

describe("stream server: no client exhausts it", () => {
  it("closes an unauthenticated /ws/v1 client sending a large frame from its length, before reading it", async () => {
    const ws = new WebSocket(`${stream().wsUrl}/ws/v1`);
    await new Promise((r) => ws.on("open", r));
    const code = await new Promise<number>((resolve) => {
      ws.on("close", (c) => resolve(c));
      ws.on("error", () => undefined);
      ws.send(Buffer.alloc(1024 * 1024, 0x20), { binary: false });
    });
    expect(code).toBe(1009); // Message Too Big
  });

  it("still answers an unauthenticated NLS SDK frame with a TaskFailed naming the credential", async () => {
    const { texts } = await wsSession("/ws/v1", [start(randomUUID().replace(/-/g, ""))], {});
    expect(JSON.parse(texts[0]!).header.status).toBe(40000001);
  });

  it("refuses an authorized NLS frame larger than any StartSynthesis (64 KiB)", async () => {
    const { code } = await wsSession("/ws/v1", [start("a".repeat(32), "字".repeat(30_000))]);
    expect(code).toBe(1009);
  });

  it("closes an NLS client that stops reading audio, and the upstream with it", async () => {
    cloud().nls.gateway.faults.padBytes = 24 * 1024 * 1024; // more than the kernel buffers on both sides hold
    const ws = new WebSocket(`${stream().wsUrl}/ws/v1`, { headers: { "X-NLS-Token": API_KEY } });
    await new Promise((r) => ws.on("open", r));
    const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
    // Ask for a long synthesis, then never read again: the kernel buffers fill and the server's sends stall.
    ws.send(start(randomUUID().replace(/-/g, ""), "客户端在发出请求以后就再也不读取任何数据了。"));
    socket.pause();
    const closed = new Promise((r) => ws.on("close", r));
    await eventually(() => cloud().nls.gateway.stats.open === 1, 5000);
    await eventually(() => cloud().nls.gateway.stats.open === 0, 10_000);
    cloud().nls.gateway.faults.padBytes = 0;
    socket.resume();
    await closed;
    expect(
      stream()
        .logs.filter((l) => !/"level":"debug"/.test(l))
        .slice(-5)
        .join("\n"),
    ).toMatch(/client stopped reading/);
  });

  it("closes a CosyVoice client that stops reading audio, and the upstream with it", async () => {
    cloud().dashscope.cosyvoice.faults.padBytes = 24 * 1024 * 1024;
    const ws = new WebSocket(`${stream().wsUrl}/api-ws/v1/inference`, {
      headers: { authorization: `bearer ${API_KEY}` },
    });
    const id = randomUUID();
    const cmd = (action: "continue-task" | "finish-task", payload: unknown) =>
      JSON.stringify(cosyCommand(action, id, payload));
    await new Promise((r) => ws.on("open", r));
    const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
    ws.send(JSON.stringify(cosyRunTask(id, { format: "pcm" })));
    ws.send(cmd("continue-task", { input: { text: "客户端不再读取任何数据了。" } }));
    ws.send(cmd("finish-task", { input: {} }));
    socket.pause();
    const closed = new Promise((r) => ws.on("close", r));
    await eventually(() => cloud().dashscope.cosyvoice.stats.open === 1, 5000);
    await eventually(() => cloud().dashscope.cosyvoice.stats.open === 0, 10_000);
    cloud().dashscope.cosyvoice.faults.padBytes = 0;
    socket.resume();
    await closed;
    expect(stream().logs.filter((l) => /client stopped reading/.test(l)).length).toBeGreaterThanOrEqual(2);
  });
});
