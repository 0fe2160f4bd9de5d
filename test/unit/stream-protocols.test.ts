/**
 * The stream function's four ways in, each spoken to as its clients speak, over the local cloud's emulators in their
 * fast mode (audio of the right length in microseconds, no espeak-ng): the protocol and the plumbing, in a second. The
 * e2e tests hear the same surfaces with real speech.
 */
import { randomUUID } from "node:crypto";
import { SpeechSynthesizer } from "alibabacloud-nls";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { readLabel } from "../../lib/audio/label-container.js";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { readWav } from "../../lib/audio/wav.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { importSnippet, readmeSnippet } from "../helpers/readme-snippet.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";
import { cosyCommand, cosyRunTask, nlsStart } from "../helpers/wire.js";

const cloud = useLocalCloud({ engine: new FastEngine() });
const APP = "https://app.example.com";
const stream = useStreamServer(cloud, { TTS_CORS_ORIGINS: APP }, { idleTimeoutMs: 2000, stallTimeoutMs: 2000 });

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${stream().url}/v1/stream`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

type TimedEvent = {
  type: string;
  text?: string;
  audio?: string;
  beginMs?: number;
  endMs?: number;
  durationMs?: number;
};

/** A timed stream's NDJSON events. */
async function timedEvents(res: Response): Promise<TimedEvent[]> {
  return (await res.text())
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TimedEvent);
}

type Frame = { header: Record<string, unknown>; payload?: Record<string, unknown> } | Buffer;

/** Opens a WebSocket, sends `first` on open, answers each text frame with `reply`, and collects frames until close. */
function converse(
  path: string,
  first: string,
  reply: (frame: Exclude<Frame, Buffer>, send: (s: string) => void) => void,
  headers: Record<string, string> = {},
): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${stream().wsUrl}${path}`, { headers });
    const frames: Frame[] = [];
    ws.on("open", () => ws.send(first));
    ws.on("message", (data: Buffer, binary) => {
      const frame = binary ? data : (JSON.parse(data.toString()) as Exclude<Frame, Buffer>);
      frames.push(frame);
      if (Buffer.isBuffer(frame)) return;
      const ending = frame.header.event ?? frame.header.name;
      if (/^(task-finished|task-failed|TaskFailed|SynthesisCompleted)$/.test(String(ending))) ws.close();
      else reply(frame, (s) => ws.send(s));
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on("error", reject);
    ws.on("close", () => resolve(frames));
  });
}

const names = (frames: Frame[], key: "name" | "event") =>
  frames.map((f) => (Buffer.isBuffer(f) ? "audio" : String(f.header[key])));

describe("POST /v1/stream", () => {
  it("streams each provider's audio in the format asked for", async () => {
    const nls = await post({ text: "你好，世界。", voice: "xiaoyun", format: "wav", sampleRate: 16000 });
    expect(nls.status).toBe(200);
    expect(nls.headers.get("x-request-id")).toBeTruthy();
    const wav = Buffer.from(await nls.arrayBuffer());
    expect(readWav(wav)).toMatchObject({ sampleRate: 16000 });
    // Every stream carries its AI-generated-content label: a WAV in its INFO chunk, an MP3 in the tag it starts with.
    expect(readLabel(wav)).toMatchObject({ aigc: { Label: "1" }, synthesis: { provider: "nls", voice: "xiaoyun" } });
    const cosy = await post({ provider: "cosyvoice", voice: "longanyang", text: "春风又绿。", format: "mp3" });
    expect(cosy.headers.get("content-type")).toBe("audio/mpeg");
    const cosyMp3 = Buffer.from(await cosy.arrayBuffer());
    expect(cosyMp3.subarray(0, 3).toString()).toBe("ID3");
    expect(readLabel(cosyMp3)?.synthesis).toMatchObject({ provider: "cosyvoice", model: "cosyvoice-v3-flash" });
    expect(mp3Frames(cosyMp3).length).toBeGreaterThan(3);
    // A voice named without a model gets its own model (longcheng_v2 is cosyvoice-v2's).
    const v2 = await post({ provider: "cosyvoice", voice: "longcheng_v2", text: "你好。", format: "mp3" });
    expect(v2.status).toBe(200);
    expect(mp3Frames(Buffer.from(await v2.arrayBuffer())).length).toBeGreaterThan(3);
    const minimax = await post({
      provider: "minimax",
      voice: "male-qn-qingse",
      text: "你好。",
      format: "mp3",
      sampleRate: 24000,
    });
    expect(minimax.status).toBe(200);
    expect(mp3Frames(Buffer.from(await minimax.arrayBuffer())).length).toBeGreaterThan(3);
  });

  it("answers a body over 64 KiB with 413 naming the body, and a wrong key with 401, as JSON", async () => {
    const big = await post({ text: "a".repeat(70 * 1024) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: "BodyTooLarge", field: "body" } });
    const denied = await post({ text: "hi" }, { authorization: "Bearer wrong-key-123" });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("content-type")).toMatch(/json/);
  });

  it("streams audio with word and sentence marks as NDJSON, and as server-sent events when asked", async () => {
    const text = "第一句话。第二句话。Third one here.";
    const ndjson = await post({ text, voice: "siqi", timestamps: true, format: "pcm", sampleRate: 16000 });
    expect(ndjson.headers.get("content-type")).toBe("application/x-ndjson");
    const events = await timedEvents(ndjson);
    expect(events.filter((e) => e.type === "sentence").map((e) => e.text)).toEqual([
      "第一句话。",
      "第二句话。",
      "Third one here.",
    ]);
    expect(events.some((e) => e.type === "audio")).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "end", durationMs: expect.any(Number) });
    const sse = await post(
      { provider: "cosyvoice", voice: "longanyang", text, timestamps: true, format: "mp3" },
      { accept: "text/event-stream" },
    );
    expect(sse.headers.get("content-type")).toBe("text/event-stream");
    expect(sse.headers.get("x-audio-format")).toBe("mp3");
    const body = await sse.text();
    expect(body).toMatch(/"type":"word"/);
    expect(body).toMatch(/"type":"end"/);
  });

  it("gives CosyVoice's sentences as the text has them, spaces and punctuation kept, at whole milliseconds", async () => {
    const text = "Hello world. This is CosyVoice, with words. 你好，世界！";
    const res = await post({ provider: "cosyvoice", voice: "longanyang", text, timestamps: true, format: "mp3" });
    const events = await timedEvents(res);
    expect(events.filter((e) => e.type === "sentence").map((e) => e.text)).toEqual([
      "Hello world.",
      "This is CosyVoice, with words.",
      "你好，世界！",
    ]);
    // The audio carries its label, as every output does: the MP3 starts with the tag.
    const audio = Buffer.concat(
      events.flatMap((e) => (e.type === "audio" ? [Buffer.from(e.audio ?? "", "base64")] : [])),
    );
    expect(readLabel(audio)?.synthesis).toMatchObject({ provider: "cosyvoice", voice: "longanyang" });
    expect(mp3Frames(audio).length).toBeGreaterThan(3);
    const marks = events.filter((e) => e.type === "word" || e.type === "sentence");
    expect(marks.length).toBeGreaterThan(6);
    expect(marks.every((e) => Number.isInteger(e.beginMs) && Number.isInteger(e.endMs))).toBe(true);
  });

  it("refuses timings from a provider that gives none, naming the field", async () => {
    const res = await post({ provider: "minimax", voice: "male-qn-qingse", text: "hi", timestamps: true });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/timestamps/);
  });
});

describe("the router's routes", () => {
  it("serves GET /v1/stream with a minted token, the voices and the health check", async () => {
    const minted = await fetch(`${stream().url}/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    const audio = await fetch(`${stream().url}/v1/stream?text=hello&format=pcm&sampleRate=8000&token=${token}`);
    expect(audio.headers.get("content-type")).toBe("audio/L16;rate=8000");
    expect((await audio.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const timed = await fetch(`${stream().url}/v1/stream?text=hello&voice=siqi&timestamps=true&token=${token}`);
    expect(timed.headers.get("content-type")).toBe("application/x-ndjson");
    await timed.text();
    expect(await (await fetch(`${stream().url}/healthz`)).json()).toEqual({ ok: true });
    const voices = (await (await fetch(`${stream().url}/v1/voices`)).json()) as {
      voices: { provider: string }[];
      providers: Record<string, { jobs: boolean; stream: boolean }>;
    };
    expect(new Set(voices.voices.map((v) => v.provider))).toEqual(new Set(["nls", "cosyvoice"]));
    // Every provider of the registry is described, with what it does here.
    expect(voices.providers.ice).toMatchObject({ jobs: true, stream: false });
    expect(voices.providers.cosyvoice).toMatchObject({ jobs: false, stream: true });
    expect(Object.keys(voices.providers).sort()).toEqual(["cosyvoice", "ice", "minimax", "nls"]);
  });

  it("refuses a token lifetime it would not give, naming ttlSeconds and the limit, and says a token cannot mint", async () => {
    const mint = (body: string | undefined, authorization = `Bearer ${API_KEY}`) =>
      fetch(`${stream().url}/v1/tokens`, {
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body,
      });
    for (const [ttl, message] of [
      ['"abc"', /whole number/],
      ["99999999", /at most 3600/],
      ["0", /at least 1/],
      ["1.5", /whole number/],
    ] as const) {
      const res = await mint(`{"ttlSeconds":${ttl}}`);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { field: string; message: string } };
      expect(error.field).toBe("ttlSeconds");
      expect(error.message).toMatch(message);
    }
    const unknown = await mint('{"ttl":60}');
    expect(((await unknown.json()) as { error: { field: string } }).error.field).toBe("ttl");
    const minted = await mint(undefined);
    const { token, expiresAt } = (await minted.json()) as { token: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(290_000);
    const byToken = await mint(undefined, `Bearer ${token}`);
    expect(byToken.status).toBe(403);
    expect(JSON.stringify(await byToken.json())).toMatch(/a token cannot mint tokens/);
    expect((await mint(undefined, "Bearer wrong-key-123")).status).toBe(401);
  });

  it("gives the openai SDK audio, and its errors as the SDK's statuses", async () => {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${stream().url}/v1`, maxRetries: 0 });
    const speech = await client.audio.speech.create({ model: "tts-1", voice: "nova", input: "你好。", speed: 1.5 });
    expect(mp3Frames(Buffer.from(await speech.arrayBuffer())).length).toBeGreaterThan(3);
    await expect(
      client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "hi", response_format: "opus" }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe("cross-origin browser apps (TTS_CORS_ORIGINS)", () => {
  const preflight = (origin: string) =>
    fetch(`${stream().url}/v1/stream`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });

  it("answers a named origin's preflight, and gives any other origin no CORS header", async () => {
    const allowed = await preflight(APP);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(APP);
    expect(allowed.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(allowed.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const other = await preflight("https://evil.example");
    expect(other.status).toBe(204);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("marks the audio, its errors and the router's answers readable by the named origin", async () => {
    const audio = await post({ text: "你好。", format: "pcm" }, { origin: APP });
    expect(audio.status).toBe(200);
    expect(audio.headers.get("access-control-allow-origin")).toBe(APP);
    expect(audio.headers.get("access-control-expose-headers")).toMatch(/x-request-id/);
    await audio.arrayBuffer();
    const refused = await post({ text: "hi" }, { origin: APP, authorization: "Bearer wrong-key-123" });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(APP);
    const voices = await fetch(`${stream().url}/v1/voices`, { headers: { origin: APP } });
    expect(voices.headers.get("access-control-allow-origin")).toBe(APP);
    const other = await fetch(`${stream().url}/v1/voices`, { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("NLS-compatible WebSocket /ws/v1", () => {
  it("lets the alibabacloud-nls SDK synthesize with our key as its token, subtitles included", async () => {
    const tts = new SpeechSynthesizer({ url: `${stream().wsUrl}/ws/v1`, appkey: "ignored", token: API_KEY });
    const chunks: Buffer[] = [];
    const metas: string[] = [];
    tts.on("data", (d: Buffer) => chunks.push(d));
    tts.on("meta", (m: string) => metas.push(m));
    const done = await tts.start(
      { ...tts.defaultStartParams("siqi"), text: "通过代理合成。", format: "wav", enable_subtitle: true },
      false,
      6000,
    );
    expect(JSON.parse(done).header).toMatchObject({ name: "SynthesisCompleted", status: 20000000 });
    expect(readWav(Buffer.concat(chunks))?.sampleRate).toBe(16000);
    // The relayed audio carries its label too, in its header.
    expect(readLabel(Buffer.concat(chunks))?.synthesis).toEqual({ provider: "nls", voice: "siqi" });
    expect(JSON.parse(metas[0]!).payload.subtitles.length).toBeGreaterThan(0);
  });

  it("runs the README's SDK snippet as written (a named import), pointed at this server", async () => {
    const code = await readmeSnippet("nls-sdk");
    expect(code).toContain('import { SpeechSynthesizer } from "alibabacloud-nls";');
    const pointed = code.replaceAll("ws://127.0.0.1:9000", stream().wsUrl).replaceAll('"dev-key"', `"${API_KEY}"`);
    const { tts } = await importSnippet<{ tts: InstanceType<typeof SpeechSynthesizer> }>(
      "nls-sdk",
      `${pointed}\nexport { tts };\n`,
    );
    const chunks: Buffer[] = [];
    tts.on("data", (d: Buffer) => chunks.push(d));
    await tts.start({ ...tts.defaultStartParams("xiaoyun"), text: "你好。", format: "pcm" }, false, 6000);
    expect(Buffer.concat(chunks).length).toBeGreaterThan(1000);
    // The default export is the recogniser, which is why the README says to import by name.
    // (Our type declarations for the package name only the synthesizer.)
    const nls = (await import("alibabacloud-nls")) as unknown as { default: unknown; SpeechRecognition: unknown };
    expect(nls.default).toBe(nls.SpeechRecognition);
  });

  it("relays an upstream TaskFailed with the upstream's code, and refuses a wrong key without going upstream", async () => {
    cloud().nls.gateway.faults.failNext.push({ status: 41020001, text: "TTS:TtsClientError: engine error 413" });
    const frames = await converse("/ws/v1", nlsStart("hi"), () => undefined, { "x-nls-token": API_KEY });
    expect(frames.at(-1)).toMatchObject({ header: { name: "TaskFailed", status: 41020001 } });
    const before = cloud().nls.gateway.stats.connections;
    const denied = await converse("/ws/v1", nlsStart("hi"), () => undefined, { "x-nls-token": "wrong-key-123" });
    expect(denied.at(-1)).toMatchObject({ header: { name: "TaskFailed", status: 40000001 } });
    expect(cloud().nls.gateway.stats.connections).toBe(before);
  });
});

describe("DashScope-compatible WebSocket /api-ws/v1/inference", () => {
  const auth = { authorization: `bearer ${API_KEY}` };

  it("relays run-task, continue-task and finish-task, one audio frame per sentence, then task-finished", async () => {
    const id = randomUUID();
    const frames = await converse(
      "/api-ws/v1/inference",
      JSON.stringify(cosyRunTask(id, { enable_words: true })),
      (frame, send) => {
        if (frame.header.event === "task-started") {
          for (const text of ["床前明月光。", "疑是地上霜。"])
            send(JSON.stringify(cosyCommand("continue-task", id, { input: { text } })));
          send(JSON.stringify(cosyCommand("finish-task", id, { input: {} })));
        }
      },
      auth,
    ).then((f) => f);
    const seen = names(frames, "event");
    expect(seen[0]).toBe("task-started");
    expect(seen.filter((n) => n === "audio").length).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1)).toBe("task-finished");
    expect(seen).toContain("result-generated");
    // The task's first binary frame starts with the label's ID3 tag; the frames together are one labelled MP3.
    const audio = Buffer.concat(frames.filter((f): f is Buffer => Buffer.isBuffer(f)));
    expect(readLabel(audio)?.synthesis).toMatchObject({ provider: "cosyvoice", voice: "longanyang" });
    expect(mp3Frames(audio).length).toBeGreaterThan(3);
  });

  it("fails an unknown voice with task-failed before going upstream, and refuses a bad key with 401", async () => {
    const before = cloud().dashscope.cosyvoice.stats.connections;
    const frames = await converse(
      "/api-ws/v1/inference",
      JSON.stringify(cosyRunTask(randomUUID(), { voice: "no-such-voice" })),
      () => undefined,
      auth,
    );
    expect(frames.at(-1)).toMatchObject({ header: { event: "task-failed", error_code: "InvalidParameter" } });
    await expect(
      converse("/api-ws/v1/inference", "{}", () => undefined, { authorization: "bearer sk-not-ours" }),
    ).rejects.toThrow(/401/);
    expect(cloud().dashscope.cosyvoice.stats.connections).toBe(before);
  });
});
