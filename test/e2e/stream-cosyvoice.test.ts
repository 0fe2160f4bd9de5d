import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";
import { cosyCommand, cosyRunTask } from "../helpers/wire.js";

const cloud = useLocalCloud();
const stream = useStreamServer(cloud);

type Event = { header: { event: string; error_code?: string; error_message?: string } } | Buffer;

const cmd = (...args: Parameters<typeof cosyCommand>) => JSON.stringify(cosyCommand(...args));
const runTask = (...args: Parameters<typeof cosyRunTask>) => JSON.stringify(cosyRunTask(...args));

/** A DashScope-protocol client of our proxy: sends run-task, then the rest after task-started. */
function session(
  texts: string[],
  parameters: Record<string, unknown> = {},
  headers: Record<string, string> = { authorization: `bearer ${API_KEY}` },
  model?: string,
): Promise<Event[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${stream().wsUrl}/api-ws/v1/inference`, { headers });
    const id = randomUUID();
    const events: Event[] = [];
    ws.on("open", () => ws.send(runTask(id, parameters, model)));
    ws.on("message", (data: Buffer, binary) => {
      const event = binary ? data : (JSON.parse(data.toString()) as Event);
      events.push(event);
      if (Buffer.isBuffer(event)) return;
      if (event.header.event === "task-started") {
        for (const text of texts) ws.send(cmd("continue-task", id, { input: { text } }));
        ws.send(cmd("finish-task", id, { input: {} }));
      }
      if (event.header.event === "task-finished" || event.header.event === "task-failed") ws.close();
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on("error", reject);
    ws.on("close", () => resolve(events));
  });
}

const failure = (events: Event[]) =>
  events.find((e): e is Exclude<Event, Buffer> => !Buffer.isBuffer(e) && e.header.event === "task-failed")?.header;

describe("stream function: CosyVoice", () => {
  it("streams CosyVoice audio from POST /v1/stream with provider cosyvoice", async () => {
    const res = await fetch(`${stream().url}/v1/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        provider: "cosyvoice",
        model: "cosyvoice-v3-flash",
        voice: "longanyang",
        text: `春风又绿江南岸。${Date.now()}`,
        format: "mp3",
        sampleRate: 22050,
      }),
    });
    expect(res.status).toBe(200);
    expect(mp3Frames(Buffer.from(await res.arrayBuffer())).length).toBeGreaterThan(10);
  });

  it("relays seed 001's protocol through /api-ws/v1/inference with our key, never the client holding DashScope's", async () => {
    const events = await session(["床前明月光。", "疑是地上霜。"]);
    const names = events.map((e) => (Buffer.isBuffer(e) ? "audio" : e.header.event));
    expect(names[0]).toBe("task-started");
    expect(names.filter((n) => n === "audio")).toHaveLength(2);
    expect(names.at(-1)).toBe("task-finished");
  });

  it("refuses a missing key with 401 at the upgrade, before any upstream connection", async () => {
    const before = cloud().dashscope.cosyvoice.stats.connections;
    await expect(session(["x"], {}, {})).rejects.toThrow(/401/);
    await expect(session(["x"], {}, { authorization: "bearer sk-not-ours" })).rejects.toThrow(/401/);
    expect(cloud().dashscope.cosyvoice.stats.connections).toBe(before);
  });

  it("validates before DashScope: unknown voice, malformed SSML, and a second continue-task with enable_ssml", async () => {
    const before = cloud().dashscope.cosyvoice.stats.connections;
    expect(failure(await session(["x"], { voice: "nobody" }))).toMatchObject({
      error_code: "InvalidParameter",
      error_message: expect.stringMatching(/unknown CosyVoice voice/),
    });
    expect(failure(await session(["x"], {}, undefined, "cosyvoice-v9"))).toMatchObject({
      error_message: expect.stringMatching(/model/),
    });
    expect(cloud().dashscope.cosyvoice.stats.connections).toBe(before);
    expect(failure(await session(['<speak><break time="20s"/></speak>'], { enable_ssml: true }))).toMatchObject({
      error_message: expect.stringMatching(/^ssml: 1:8 <break> time="20s"/),
    });
    expect(failure(await session(["<speak>一</speak>", "<speak>二</speak>"], { enable_ssml: true }))).toMatchObject({
      error_message: "Text request limit violated, expected 1.",
    });
  });

  it("closes the DashScope connection when the client leaves", async () => {
    const emulator = cloud().dashscope.cosyvoice;
    // Connections the stream function keeps for its own next tasks (HTTP streams earlier in this file) stay open.
    const kept = emulator.stats.open;
    const ws = new WebSocket(`${stream().wsUrl}/api-ws/v1/inference`, {
      headers: { authorization: `bearer ${API_KEY}` },
    });
    const id = randomUUID();
    await new Promise<void>((resolve) => ws.on("open", () => resolve()));
    ws.send(runTask(id));
    await new Promise<void>((resolve) => ws.once("message", () => resolve()));
    expect(emulator.stats.open).toBe(kept + 1);
    ws.terminate();
    await eventually(() => emulator.stats.open === kept, 1000);
  });
});

describe("the DashScope-compatible endpoint behaves like DashScope toward its SDK", () => {
  /** An open connection to our endpoint, with a queue of what arrives. */
  async function connect(): Promise<{
    ws: WebSocket;
    next: (pred: (e: Event) => boolean) => Promise<Event>;
    events: Event[];
  }> {
    const ws = new WebSocket(`${stream().wsUrl}/api-ws/v1/inference`, {
      headers: { authorization: `bearer ${API_KEY}` },
    });
    const events: Event[] = [];
    const waiters: Array<{ pred: (e: Event) => boolean; resolve: (e: Event) => void }> = [];
    ws.on("message", (data: Buffer, binary) => {
      const event = binary ? data : (JSON.parse(data.toString()) as Event);
      events.push(event);
      for (const w of waiters.splice(0)) w.pred(event) ? w.resolve(event) : waiters.push(w);
    });
    await new Promise((r) => ws.on("open", r));
    return {
      ws,
      events,
      next: (pred) =>
        new Promise((resolve) => {
          const seen = events.find(pred);
          if (seen) return resolve(seen);
          waiters.push({ pred, resolve });
        }),
    };
  }
  const isEvent = (name: string) => (e: Event) => !Buffer.isBuffer(e) && e.header.event === name;

  it("takes streaming_flush() (continue-task with input.flush and no text): the buffered text is spoken before finish-task", async () => {
    const c = await connect();
    const id = randomUUID();
    c.ws.send(runTask(id));
    await c.next(isEvent("task-started"));
    c.ws.send(cmd("continue-task", id, { input: { text: "这半句话还没有结束" } }));
    // The SDK's flush request, as dashscope's tts_v2 builds it.
    c.ws.send(
      cmd("continue-task", id, {
        model: "cosyvoice-v3-flash",
        task_group: "audio",
        task: "tts",
        function: "SpeechSynthesizer",
        input: { flush: true },
      }),
    );
    const audio = await c.next((e) => Buffer.isBuffer(e) || isEvent("task-failed")(e));
    expect(Buffer.isBuffer(audio)).toBe(true);
    c.ws.send(cmd("finish-task", id, { input: {} }));
    await c.next(isEvent("task-finished"));
    expect(c.events.some(isEvent("task-failed"))).toBe(false);
    c.ws.close();
  });

  it("runs a second task on the same connection after task-finished, over the same upstream connection", async () => {
    const before = cloud().dashscope.cosyvoice.stats.connections;
    const c = await connect();
    for (const text of ["第一个任务。", "第二个任务。"]) {
      const id = randomUUID();
      c.ws.send(runTask(id));
      await c.next(
        (e) =>
          !Buffer.isBuffer(e) && (e.header as { task_id?: string }).task_id === id && e.header.event === "task-started",
      );
      c.ws.send(cmd("continue-task", id, { input: { text } }));
      c.ws.send(cmd("finish-task", id, { input: {} }));
      const end = await c.next(
        (e) =>
          !Buffer.isBuffer(e) &&
          (e.header as { task_id?: string }).task_id === id &&
          (e.header.event === "task-finished" || e.header.event === "task-failed"),
      );
      expect((end as Exclude<Event, Buffer>).header.event).toBe("task-finished");
    }
    expect(c.events.filter(isEvent("task-finished"))).toHaveLength(2);
    expect(cloud().dashscope.cosyvoice.stats.connections - before).toBe(1);
    c.ws.close();
  });

  it("lets our own client pass over events it does not know and sentences without words, as the SDK does", async () => {
    cloud().dashscope.cosyvoice.faults.quirks = true;
    try {
      const res = await fetch(`${stream().url}/v1/stream`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({
          provider: "cosyvoice",
          text: `未知的事件也没关系。${randomUUID()}`,
          voice: "longanyang",
          format: "mp3",
        }),
      });
      expect(res.status).toBe(200);
      expect(mp3Frames(Buffer.from(await res.arrayBuffer())).length).toBeGreaterThan(5);
    } finally {
      cloud().dashscope.cosyvoice.faults.quirks = false;
    }
  });
});
