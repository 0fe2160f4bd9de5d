/**
 * `timestamps: true` on /v1/stream: audio chunks (base64) and word and sentence marks as NDJSON or SSE, the offsets
 * counted from the start of the whole stream across the pieces of a long text, checked against the decoded audio.
 */
import { describe, expect, it } from "vitest";
import { readLabel } from "../../lib/audio/label-container.js";
import { decode, listen, nearest } from "../helpers/audio-sync.js";
import { audioAfterLabel } from "../helpers/labels.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, leaveMidStream, useStreamServer } from "../helpers/stream-server.js";

const cloud = useLocalCloud();
const stream = useStreamServer(cloud);

type Mark = { type: "word" | "sentence"; text: string; beginMs: number; endMs: number };
type Event =
  | { type: "audio"; audio: string }
  | { type: "word" | "sentence"; text: string; beginMs: number; endMs: number }
  | { type: "end"; durationMs: number }
  | { type: "error"; code: string; message: string };

async function timed(body: Record<string, unknown>, accept?: string) {
  const res = await fetch(`${stream().url}/v1/stream`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
      ...(accept ? { accept } : {}),
    },
    body: JSON.stringify({ timestamps: true, ...body }),
  });
  return res;
}

function parseNdjson(text: string): Event[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Event);
}

const audioOf = (events: Event[]) =>
  Buffer.concat(events.flatMap((e) => (e.type === "audio" ? [Buffer.from(e.audio, "base64")] : [])));

const sentences = (n: number) =>
  Array.from({ length: n }, (_, i) => (i % 3 === 2 ? `Sentence ${i + 1} is here.` : `这是第${i + 1}句话。`)).join("");

describe("timed streams", () => {
  it("NLS over several pieces: words and sentences on the audio, monotonic, ending where the speech ends", async () => {
    const res = await timed({ text: sentences(60), voice: "siqi", format: "mp3", sampleRate: 16000 });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const events = parseNdjson(await res.text());
    expect(events.at(-1)?.type).toBe("end");
    const words = events.filter((e) => e.type === "word") as Mark[];
    const sentenceMarks = events.filter((e) => e.type === "sentence") as Mark[];
    expect(words.length).toBeGreaterThan(200);
    expect(sentenceMarks).toHaveLength(60);
    expect(sentenceMarks[2]!.text).toBe("Sentence 3 is here.");
    // Monotonic across the whole stream, piece seams included.
    expect(words.every((w, i) => w.endMs >= w.beginMs && (i === 0 || w.beginMs >= words[i - 1]!.beginMs))).toBe(true);
    const { samples, sampleRate } = await decode(audioOf(events), "mp3", 16000);
    const heard = listen(samples, sampleRate);
    const end = events.at(-1) as { durationMs: number };
    expect(Math.abs(end.durationMs - heard.durationMs)).toBeLessThanOrEqual(100);
    // The last mark ends where the speech ends; every sentence starts where speech starts after a pause.
    expect(Math.abs(words.at(-1)!.endMs - heard.offsets.at(-1)!)).toBeLessThanOrEqual(100);
    const late = sentenceMarks.filter((s) => nearest(s.beginMs, heard.onsets) > 100);
    expect(late).toEqual([]);
  }, 120_000);

  it("serves the same as server-sent events when asked, in WAV with one header", async () => {
    const res = await timed(
      { text: sentences(30), voice: "siqi", format: "wav", sampleRate: 16000 },
      "text/event-stream",
    );
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const text = await res.text();
    const events = [...text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[2]!) as Event);
    expect(events.map((e) => e.type)).toContain("word");
    const wav = audioOf(events);
    expect(wav.indexOf("RIFF", 1)).toBe(-1);
    const end = events.at(-1) as { type: string; durationMs: number };
    expect(end.type).toBe("end");
    // The one header carries the label before the data; the duration is the data's.
    expect(readLabel(wav)?.aigc.Label).toBe("1");
    expect(Math.abs(end.durationMs - (audioAfterLabel(wav).length / 2 / 16000) * 1000)).toBeLessThanOrEqual(1);
  }, 60_000);

  it("CosyVoice: each sentence's words, timed within the stream", async () => {
    const res = await timed({ provider: "cosyvoice", text: "第一句话。第二句话。", format: "mp3" });
    expect(res.status).toBe(200);
    const events = parseNdjson(await res.text());
    const words = events.filter((e) => e.type === "word") as Mark[];
    expect(words.length).toBeGreaterThan(4);
    expect(words.every((w, i) => i === 0 || w.beginMs >= words[i - 1]!.beginMs)).toBe(true);
    expect(events.filter((e) => e.type === "sentence")).toHaveLength(2);
  });

  it("closes every upstream when the client leaves a timed stream", async () => {
    const body = { timestamps: true, text: sentences(80), voice: "siqi", format: "pcm" };
    await leaveMidStream(stream().url, cloud(), body, 1);
  });

  it("refuses timings where the provider gives none, naming the field", async () => {
    for (const body of [
      { text: "没有时间戳。", voice: "xiaoyun" },
      { provider: "minimax", voice: "male-qn-qingse", text: "也没有。" },
    ]) {
      const res = await timed(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe("timestamps");
    }
  });
});
