/**
 * Socket accounting for the stream function: whichever side vanishes mid-audio, every socket is closed afterwards,
 * counted on the stream server itself (its open connections) and on the upstream emulators (their open connections).
 */
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";
import { cosyCommand, cosyRunTask, nlsStart } from "../helpers/wire.js";

const cloud = useLocalCloud({ gateway: { frameBytes: 2048 } });
const stream = useStreamServer(cloud, { TTS_CACHE: "false" });

const serverConnections = (): Promise<number> =>
  new Promise((resolve, reject) => stream().server.getConnections((e, n) => (e ? reject(e) : resolve(n))));

/** Everything closed: the stream server holds no connection, and no upstream connection is open. */
async function expectNoSockets(): Promise<void> {
  await eventually(
    async () =>
      (await serverConnections()) === 0 &&
      cloud().nls.gateway.stats.open === 0 &&
      cloud().dashscope.cosyvoice.stats.open === 0,
    2000,
  );
  expect([await serverConnections(), cloud().nls.gateway.stats.open, cloud().dashscope.cosyvoice.stats.open]).toEqual([
    0, 0, 0,
  ]);
}

/** POST /v1/stream on a connection of its own (no keep-alive pool), resolving at the first audio bytes. */
function openStream(text: string): Promise<{ destroy: () => void; rest: Promise<"ended" | "aborted"> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${stream().url}/v1/stream`,
      {
        method: "POST",
        agent: false,
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        const rest = new Promise<"ended" | "aborted">((done) => {
          res.on("end", () => done("ended"));
          res.on("aborted", () => done("aborted"));
          res.on("error", () => done("aborted"));
          res.on("close", () => done(res.complete ? "ended" : "aborted"));
        });
        res.once("data", () => resolve({ destroy: () => req.destroy(), rest }));
      },
    );
    req.on("error", () => undefined);
    req.end(JSON.stringify({ text, format: "pcm" }));
  });
}

afterEach(() => {
  cloud().nls.gateway.faults.frameDelayMs = 0;
  cloud().nls.gateway.faults.dropAfterBytes = undefined;
});

describe("stream function: no socket outlives its session", () => {
  it("HTTP: the client vanishing mid-audio closes its connection and the upstream", async () => {
    cloud().nls.gateway.faults.frameDelayMs = 30;
    const s = await openStream(`The client hangs up in the middle of this long sentence. ${randomUUID()}`);
    expect(await serverConnections()).toBe(1);
    expect(cloud().nls.gateway.stats.open).toBe(1);
    s.destroy();
    await expectNoSockets();
  });

  it("HTTP: the upstream vanishing mid-audio aborts the response and leaves no socket", async () => {
    cloud().nls.gateway.faults.dropAfterBytes = 4096;
    const s = await openStream(`The upstream drops in the middle of this long sentence. ${randomUUID()}`);
    expect(await s.rest).toBe("aborted");
    await expectNoSockets();
  });

  it("NLS WebSocket: the client vanishing mid-audio closes the upstream", async () => {
    cloud().nls.gateway.faults.frameDelayMs = 30;
    const ws = new WebSocket(`${stream().wsUrl}/ws/v1`, { headers: { "X-NLS-Token": API_KEY } });
    const taskId = randomUUID().replace(/-/g, "");
    ws.on("open", () => ws.send(nlsStart(`客户端在音频中途消失了，这句话足够长。${taskId}`, { taskId })));
    await new Promise<void>((resolve) => ws.on("message", (_d, binary) => binary && resolve()));
    expect(cloud().nls.gateway.stats.open).toBe(1);
    ws.terminate(); // no close frame: the TCP connection just goes
    await expectNoSockets();
  });

  it("NLS WebSocket: the upstream vanishing mid-audio fails the task for the client and leaves no socket", async () => {
    cloud().nls.gateway.faults.dropAfterBytes = 4096;
    const ws = new WebSocket(`${stream().wsUrl}/ws/v1`, { headers: { "X-NLS-Token": API_KEY } });
    const taskId = randomUUID().replace(/-/g, "");
    const names: string[] = [];
    ws.on("open", () => ws.send(nlsStart(`上游在音频中途断开了，这句话足够长。${taskId}`, { taskId })));
    ws.on("message", (data, binary) => void (!binary && names.push(JSON.parse(data.toString()).header.name)));
    await new Promise<void>((resolve) =>
      ws.on("message", (data, binary) => !binary && /TaskFailed/.test(data.toString()) && resolve()),
    );
    expect(names).toContain("TaskFailed");
    ws.close();
    await expectNoSockets();
  });

  it("CosyVoice WebSocket: the client vanishing mid-audio closes the upstream", async () => {
    const ws = new WebSocket(`${stream().wsUrl}/api-ws/v1/inference`, {
      headers: { authorization: `bearer ${API_KEY}` },
    });
    const id = randomUUID();
    const cmd = (action: "continue-task" | "finish-task", payload: unknown) =>
      JSON.stringify(cosyCommand(action, id, payload));
    ws.on("open", () => ws.send(JSON.stringify(cosyRunTask(id, { format: "pcm" }))));
    ws.on("message", (data, binary) => {
      if (!binary && JSON.parse(data.toString()).header.event === "task-started")
        ws.send(cmd("continue-task", { input: { text: "客户端在音频中途消失了。".repeat(10) } }));
    });
    await new Promise<void>((resolve) => ws.on("message", (_d, binary) => binary && resolve()));
    ws.terminate();
    await expectNoSockets();
  });
});
