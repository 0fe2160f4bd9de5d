/**
 * A long live stream on CosyVoice: 200,000 characters (one duplex task's documented limit) written into one stream,
 * spoken in one task, with memory that stays flat while hours of audio pass through (the audio is never held: the
 * socket's backpressure reaches the provider's). The emulators use the fast engine: audio of the right length, made in
 * microseconds.
 */
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { COSYVOICE_TASK_LIMIT } from "../../lib/providers/dashscope/limits.js";
import { countCosyVoiceChars } from "../../lib/text/index.js";
import { prose } from "../helpers/book-fixture.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";

v8.setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

const cloud = useLocalCloud({ engine: new FastEngine() });
const stream = useStreamServer(cloud, { TTS_CACHE: "false" });

/** The text, exactly `chars` characters: prose, cut to length. */
function textOf(chars: number): string {
  let text = prose(21, chars + 2000).join(" ");
  text = text.slice(0, chars - 1);
  return `${text}.`;
}

describe("a 200,000-character live stream on CosyVoice", () => {
  it("is spoken in one task to the end, memory flat while the audio passes", { timeout: 240_000 }, async () => {
    const text = textOf(COSYVOICE_TASK_LIMIT);
    expect(countCosyVoiceChars(text)).toBe(COSYVOICE_TASK_LIMIT);
    const tasks = cloud().dashscope.cosyvoice.stats.tasks;
    // What the process holds, not what it has yet to collect: measured after a full collection.
    const memory = (): number => {
      collect();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const baseline = memory();
    let bytes = 0;
    let end: Record<string, unknown> | undefined;
    let sampleRate = 0;
    const ws = new WebSocket(`${stream().wsUrl}/v1/live`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const samples: Array<{ bytes: number; held: number }> = [];
    const sampler = setInterval(() => samples.push({ bytes, held: memory() - baseline }), 100);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on("error", reject);
        ws.on("open", () => {
          ws.send(JSON.stringify({ type: "start", provider: "cosyvoice", format: "pcm", sampleRate: 16000 }));
          for (let i = 0; i < text.length; i += 2000)
            ws.send(JSON.stringify({ type: "text", text: text.slice(i, i + 2000) }));
          ws.send(JSON.stringify({ type: "end" }));
        });
        ws.on("message", (data: Buffer, binary) => {
          if (binary) {
            bytes += data.length;
            return;
          }
          const m = JSON.parse(data.toString("utf8"));
          if (m.type === "started") sampleRate = m.sampleRate;
          if (m.type === "end") end = m;
          if (m.type === "error") reject(new Error(JSON.stringify(m)));
        });
        ws.on("close", () => resolve());
      });
    } finally {
      clearInterval(sampler);
    }
    expect(end).toMatchObject({ reason: "done", charactersSent: COSYVOICE_TASK_LIMIT, textUnspoken: "" });
    expect(String(end!.textSpoken)).toBe(text);
    expect(cloud().dashscope.cosyvoice.stats.tasks - tasks).toBe(1);
    // Hours of audio, every byte of it delivered...
    const audioMs = (bytes / 2 / sampleRate) * 1000;
    expect(audioMs).toBeGreaterThan(3 * 3600_000);
    expect(Math.abs(audioMs - Number(end!.durationMs))).toBeLessThanOrEqual(1);
    // ...while what the process holds stayed flat: no more in the stream's second half than in its first quarter
    // (medians: a sample may catch a sentence's audio in flight), and never more than a small fraction of the audio.
    expect(bytes).toBeGreaterThan(300 * 1024 * 1024);
    const held = (from: number, to: number): number[] =>
      samples
        .filter((x) => x.bytes >= from * bytes && x.bytes < to * bytes)
        .map((x) => x.held)
        .sort((a, b) => a - b);
    const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;
    expect(held(0, 0.25).length).toBeGreaterThan(2);
    expect(held(0.5, 1).length).toBeGreaterThan(4);
    expect(median(held(0.5, 1))).toBeLessThan(median(held(0, 0.25)) + 8 * 1024 * 1024);
    expect(Math.max(...held(0, 1))).toBeLessThan(64 * 1024 * 1024);
  });
});
