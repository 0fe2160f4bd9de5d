/**
 * Streams beyond one NLS request (300 characters): up to STREAM_MAX_CHARS, spoken in pieces cut at sentence ends as one
 * continuous, valid stream (MP3 frames back to back, one WAV header, raw PCM) whose length is the sum of its pieces,
 * the next piece synthesized while the current one is relayed; beyond the maximum, a 413 that points to the job API.
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { mp3DurationMs, mp3Frames } from "../../lib/audio/mp3.js";
import { readWav, wavDataChunk } from "../../lib/audio/wav.js";
import { chunkText } from "../../lib/text/index.js";
import { audioAfterLabel } from "../helpers/labels.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, leaveMidStream, useStreamServer } from "../helpers/stream-server.js";

const cloud = useLocalCloud();
const stream = useStreamServer(cloud);

const post = (path: string, body: unknown) =>
  fetch(`${stream().url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A Chinese-English paragraph of `chars` characters, in sentences, different on every call (no cache hits). */
function paragraph(chars: number): string {
  const tag = Date.now().toString(36);
  const sentences = [
    "今天的天气很好，我们一起去公园散步。",
    "The weather is fine today, so we walk in the park. ",
    "湖边的柳树发芽了。",
  ];
  let text = `${tag}。`;
  for (let i = 0; text.length < chars; i++) text += sentences[i % sentences.length];
  return `${text.slice(0, chars - 1)}。`;
}

describe("streams longer than one NLS request", () => {
  it("gives the openai SDK 4,000 characters as one MP3 as long as its pieces, the next piece read ahead", async () => {
    const text = paragraph(4000);
    const pieces = chunkText(text, { max: 300 });
    expect(pieces.length).toBeGreaterThan(13);
    cloud().nls.gateway.stats.peakOpen = 0;
    const openai = new OpenAI({ baseURL: `${stream().url}/v1`, apiKey: API_KEY });
    const speech = await openai.audio.speech.create({ model: "tts-1", voice: "nova", input: text });
    const whole = Buffer.from(await speech.arrayBuffer());
    // One stream of MPEG frames from the label's tag to the last byte: no second header, nothing between frames.
    const frames = mp3Frames(whole);
    expect(frames.reduce((n, f) => n + f.length, 0)).toBe(audioAfterLabel(whole).length);
    // The next piece was synthesizing while the one before it was relayed, and never more than one ahead.
    expect(cloud().nls.gateway.stats.peakOpen).toBe(2);
    // Each piece alone, summed: the whole adds nothing at the seams.
    let sum = 0;
    for (const piece of pieces) {
      const res = await post("/v1/stream", { text: piece, voice: "siqi", format: "mp3", sampleRate: 16000 });
      expect(res.status).toBe(200);
      sum += mp3DurationMs(Buffer.from(await res.arrayBuffer()));
    }
    expect(Math.abs(mp3DurationMs(whole) - sum)).toBeLessThanOrEqual(100);
  }, 180_000);

  it("writes one WAV header over every piece, sized as a stream, and caches it with its real sizes", async () => {
    const text = paragraph(700);
    const first = await post("/v1/stream", { text, voice: "xiaoyun", format: "wav", sampleRate: 16000 });
    expect(first.headers.get("x-cache")).toBe("miss");
    const streamed = Buffer.from(await first.arrayBuffer());
    expect(streamed.indexOf("RIFF", 1)).toBe(-1);
    expect(readWav(streamed)).toMatchObject({ sampleRate: 16000, channels: 1 });
    const streamedData = wavDataChunk(streamed)!;
    expect(streamedData.size).toBe(0xffffffff - 36);
    // The cache write completes just after the response; ask until it is there.
    let again = await post("/v1/stream", { text, voice: "xiaoyun", format: "wav", sampleRate: 16000 });
    for (let i = 0; i < 50 && again.headers.get("x-cache") !== "hit"; i++) {
      await again.arrayBuffer();
      await new Promise((r) => setTimeout(r, 20));
      again = await post("/v1/stream", { text, voice: "xiaoyun", format: "wav", sampleRate: 16000 });
    }
    expect(again.headers.get("x-cache")).toBe("hit");
    const cached = Buffer.from(await again.arrayBuffer());
    expect(cached.length).toBe(streamed.length);
    const cachedData = wavDataChunk(cached)!;
    expect(cachedData.size).toBe(cached.length - cachedData.offset);
    expect(cached.readUInt32LE(4)).toBe(cached.length - 8);
    expect(audioAfterLabel(cached).equals(audioAfterLabel(streamed))).toBe(true);
    const pcm = await post("/v1/stream", { text, voice: "xiaoyun", format: "pcm", sampleRate: 16000 });
    expect(Buffer.from(await pcm.arrayBuffer()).length).toBe(audioAfterLabel(streamed).length);
  }, 120_000);

  it("closes the current piece's upstream and the one read ahead when the client leaves", async () => {
    await leaveMidStream(stream().url, cloud(), { text: paragraph(900), format: "pcm" }, 2);
  });

  it("refuses text beyond STREAM_MAX_CHARS with 413 pointing to the job API, before any upstream call", async () => {
    const before = cloud().nls.gateway.stats.connections;
    const res = await post("/v1/stream", { text: "字".repeat(4097) });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { field: string; limit: number; actual: number; message: string } };
    expect(body.error).toMatchObject({ field: "text", limit: 4096, actual: 4097 });
    expect(body.error.message).toMatch(/POST \/v1\/jobs/);
    const openai = await post("/v1/audio/speech", { model: "tts-1", voice: "nova", input: "字".repeat(4097) });
    expect(openai.status).toBe(413);
    expect(((await openai.json()) as { error: { field: string } }).error.field).toBe("input");
    expect(cloud().nls.gateway.stats.connections).toBe(before);
  });
});
