import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { InputError, UpstreamError } from "../../lib/errors.js";
import { CosyVoiceSynthesizer } from "../../lib/providers/dashscope/cosyvoice.js";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";
import { cosyCommand, cosyRunTask } from "../helpers/wire.js";

const cloud = useLocalCloud();

function synthesizer(apiKey?: string): CosyVoiceSynthesizer {
  return new CosyVoiceSynthesizer({
    url: cloud().urls.dashscopeWs,
    apiKey: apiKey ?? cloud().dashscopeApiKey,
    retry: { baseMs: 1 },
  });
}

async function collect(
  s: CosyVoiceSynthesizer,
  input: Parameters<CosyVoiceSynthesizer["synthesize"]>[0],
): Promise<{ audio: Buffer; words: unknown[] }> {
  const audio: Buffer[] = [];
  const words: unknown[] = [];
  for await (const e of s.synthesize(input)) {
    if (e.type === "audio") audio.push(e.data);
    else words.push(...e.words);
  }
  return { audio: Buffer.concat(audio), words };
}

/** Drives the emulator with raw commands, as seed 001's samples do, and returns every event it sends. */
function raw(commands: (taskId: string) => unknown[]): Promise<
  Array<
    | {
        header: { event: string; error_message?: string };
        payload: { usage?: { characters: number }; output?: { type?: string } };
      }
    | Buffer
  >
> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(cloud().urls.dashscopeWs, {
      headers: { authorization: `bearer ${cloud().dashscopeApiKey}` },
    });
    const taskId = randomUUID();
    const events: Array<never> = [];
    const [run, ...rest] = commands(taskId);
    ws.on("open", () => ws.send(JSON.stringify(run)));
    ws.on("message", (data: Buffer, binary) => {
      const event = binary ? data : JSON.parse(data.toString());
      events.push(event as never);
      if (!binary && event.header.event === "task-started") for (const c of rest) ws.send(JSON.stringify(c));
      if (!binary && (event.header.event === "task-finished" || event.header.event === "task-failed")) ws.close();
    });
    ws.on("close", () => resolve(events));
    ws.on("error", reject);
  });
}

const cmd = cosyCommand;
const runTask = cosyRunTask;

describe("CosyVoiceSynthesizer against the local DashScope emulator", () => {
  it("runs the next task on the connection the last one finished on, as DashScope's SDKs pool them", async () => {
    const emulator = cloud().dashscope.cosyvoice;
    const synth = synthesizer();
    try {
      const before = emulator.stats.connections;
      for (const text of ["第一个任务。", "第二个任务。", "第三个任务。"]) {
        let bytes = 0;
        for await (const e of synth.synthesize({ text, format: "mp3" })) if (e.type === "audio") bytes += e.data.length;
        expect(bytes).toBeGreaterThan(100);
      }
      expect(emulator.stats.connections - before).toBe(1);
      expect(synth.reuseStats.used).toBe(2);
    } finally {
      synth.close();
    }
    await eventually(() => emulator.stats.open === 0, 2000);
  });

  it("synthesizes text to MP3 and reports word timestamps", async () => {
    const { audio, words } = await collect(synthesizer(), {
      text: "床前明月光，疑是地上霜。举头望明月。",
      format: "mp3",
      sampleRate: 22050,
      wordTimestamps: true,
    });
    expect(mp3Frames(audio).length).toBeGreaterThan(10);
    expect(words.length).toBeGreaterThan(5);
    expect(words[0]).toMatchObject({ text: "床", begin_index: 0, end_index: 1 });
  });

  it("synthesizes valid SSML sent as one continue-task", async () => {
    const { audio } = await collect(synthesizer(), {
      ssml: '<speak rate="1.5">你好<break time="300ms"/>世界</speak>',
      format: "wav",
      sampleRate: 16000,
    });
    expect(audio.subarray(0, 4).toString()).toBe("RIFF");
  });

  it("plans continue-tasks within 20,000 characters, counting a Han character twice", () => {
    const plan = synthesizer().prepare({ text: "春眠不觉晓。".repeat(2100) });
    expect(plan.characters).toBe(2100 * 11);
    expect(plan.messages.length).toBe(2);
    expect(plan.messages.join("")).toBe("春眠不觉晓。".repeat(2100));
  });

  it("refuses over-long text, bad SSML and unknown voices before connecting", async () => {
    const before = cloud().dashscope.cosyvoice.stats.connections;
    const s = synthesizer();
    await expect(collect(s, { text: "字".repeat(100_001) })).rejects.toMatchObject({
      field: "text",
      details: { limit: 200_000, actual: 200_002 },
    });
    await expect(collect(s, { ssml: `<speak>${"字".repeat(10_001)}</speak>` })).rejects.toMatchObject({
      field: "ssml",
      details: { limit: 20_000 },
    });
    await expect(collect(s, { ssml: '<speak><break time="11s"/></speak>' })).rejects.toBeInstanceOf(InputError);
    await expect(collect(s, { text: "hi", voice: "nobody" })).rejects.toMatchObject({ field: "voice" });
    await expect(collect(s, { text: "hi", voice: "longcheng_v2", model: "cosyvoice-v3-flash" })).rejects.toMatchObject({
      field: "voice",
    });
    await expect(collect(s, { text: "hi", model: "cosyvoice-v1" })).rejects.toMatchObject({ field: "model" });
    expect(cloud().dashscope.cosyvoice.stats.connections).toBe(before);
  });

  it("fails a wrong API key at once", async () => {
    const error = await collect(synthesizer("sk-wrong"), { text: "hi" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ providerCode: "InvalidApiKey", retryable: false });
  });

  it("fails task-failed InvalidParameter at once and retries Throttling", async () => {
    const faults = cloud().dashscope.cosyvoice.faults;
    faults.failNext.push({ code: "InvalidParameter", message: "[tts:]Engine return error code: 418" });
    await expect(collect(synthesizer(), { text: "hi" })).rejects.toMatchObject({
      providerCode: "InvalidParameter",
      retryable: false,
    });
    faults.failNext.push({ code: "Throttling.RateQuota", message: "Requests rate limit exceeded." });
    const { audio } = await collect(synthesizer(), { text: "重试成功。" });
    expect(audio.length).toBeGreaterThan(0);
  });
});

describe("DashScope CosyVoice emulator protocol", () => {
  it("sends one binary frame after each sentence-synthesis and cumulative usage.characters", async () => {
    const events = await raw((id) => [
      runTask(id),
      cmd("continue-task", id, { input: { text: "床前明月光。" } }),
      cmd("continue-task", id, { input: { text: "疑是地上霜。" } }),
      cmd("finish-task", id, { input: {} }),
    ]);
    const kinds = events.map((e) => (Buffer.isBuffer(e) ? "audio" : (e.payload.output?.type ?? e.header.event)));
    expect(kinds).toEqual([
      "task-started",
      "sentence-begin",
      "sentence-synthesis",
      "audio",
      "sentence-end",
      "sentence-begin",
      "sentence-synthesis",
      "audio",
      "sentence-end",
      "task-finished",
    ]);
    const usage = events
      .filter((e) => !Buffer.isBuffer(e) && e.payload.usage)
      .map((e) => (e as { payload: { usage: { characters: number } } }).payload.usage.characters);
    expect(usage).toEqual([11, 22, 22]);
  });

  it("answers a second continue-task with enable_ssml with seed 001's error", async () => {
    const events = await raw((id) => [
      runTask(id, { enable_ssml: true }),
      cmd("continue-task", id, { input: { text: "<speak>一</speak>" } }),
      cmd("continue-task", id, { input: { text: "<speak>二</speak>" } }),
    ]);
    const failed = events.find((e) => !Buffer.isBuffer(e) && e.header.event === "task-failed") as {
      header: { error_message: string };
    };
    expect(failed.header.error_message).toBe("Text request limit violated, expected 1.");
  });
});
