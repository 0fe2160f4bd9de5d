import { SpeechSynthesizer } from "alibabacloud-nls";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { mp3DurationMs, mp3Frames } from "../../lib/audio/mp3.js";
import { readWav } from "../../lib/audio/wav.js";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";

const cloud = useLocalCloud({ gateway: { frameBytes: 2048 } });
const stream = useStreamServer(cloud);

const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` }) =>
  fetch(`${stream().url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("stream function: HTTP", () => {
  it("streams MP3 for POST /v1/stream, then serves the same bytes from the cache", async () => {
    const text = `缓存测试 ${Date.now()}`;
    const first = await post("/v1/stream", { text, voice: "xiaoyun", format: "mp3" });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("audio/mpeg");
    expect(first.headers.get("x-cache")).toBe("miss");
    const a = Buffer.from(await first.arrayBuffer());
    expect(mp3Frames(a).length).toBeGreaterThan(10);
    // The cache write completes just after the response; poll until the object is there.
    let second: Response | undefined;
    for (let i = 0; i < 50; i++) {
      second = await post("/v1/stream", { text, voice: "xiaoyun", format: "mp3" });
      if (second.headers.get("x-cache") === "hit") break;
      await second.arrayBuffer();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(second!.headers.get("x-cache")).toBe("hit");
    expect(Buffer.from(await second!.arrayBuffer()).equals(a)).toBe(true);
  });

  it("shares one upstream synthesis among concurrent identical requests", async () => {
    const gateway = cloud().nls.gateway;
    const before = gateway.stats.tasks;
    const body = { text: `同时请求 ${Date.now()}`, format: "pcm", sampleRate: 16000 };
    const responses = await Promise.all([post("/v1/stream", body), post("/v1/stream", body), post("/v1/stream", body)]);
    const bytes = await Promise.all(responses.map(async (r) => Buffer.from(await r.arrayBuffer())));
    expect(responses.map((r) => r.headers.get("content-type"))).toEqual(Array(3).fill("audio/L16;rate=16000"));
    expect(bytes[1]!.equals(bytes[0]!) && bytes[2]!.equals(bytes[0]!)).toBe(true);
    expect(gateway.stats.tasks - before).toBe(1);
  });

  it("answers GET /v1/stream with query parameters and a minted token, as <audio src> needs", async () => {
    const minted = await post("/v1/tokens", { ttlSeconds: 60 });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    const res = await fetch(
      `${stream().url}/v1/stream?text=${encodeURIComponent("Hello there.")}&voice=andy&format=wav&sampleRate=8000&token=${token}`,
    );
    expect(res.status).toBe(200);
    expect(readWav(Buffer.from(await res.arrayBuffer()))).toMatchObject({ sampleRate: 8000 });
    // a token cannot mint another token: 403, it is valid but not allowed to
    expect((await post("/v1/tokens", {}, { authorization: `Bearer ${token}` })).status).toBe(403);
  });

  it("refuses missing or wrong credentials with 401 JSON and opens no upstream connection", async () => {
    const before = cloud().nls.gateway.stats.connections;
    for (const headers of [{}, { authorization: "Bearer wrong-key-123" }] as Array<Record<string, string>>) {
      const res = await post("/v1/stream", { text: "hi" }, headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "Unauthorized" } });
    }
    expect((await fetch(`${stream().url}/v1/stream?text=hi&token=forged.token`)).status).toBe(401);
    expect(cloud().nls.gateway.stats.connections).toBe(before);
  });

  it("refuses bad input before any upstream call, naming the field and the limit", async () => {
    const before = cloud().nls.gateway.stats.connections;
    const long = await post("/v1/stream", { text: "字".repeat(4097) });
    expect(long.status).toBe(413);
    expect(await long.json()).toMatchObject({ error: { field: "text", limit: 4096, actual: 4097 } });
    expect(await (await post("/v1/stream", { text: "hi", voice: "nobody" })).json()).toMatchObject({
      error: { field: "voice" },
    });
    expect(await (await post("/v1/stream", { text: "hi", voice: "xiaoyun", sampleRate: 48000 })).json()).toMatchObject({
      error: { field: "sampleRate" },
    });
    expect(await (await post("/v1/stream", { text: "hi", volume: 101 })).json()).toMatchObject({
      error: { field: "volume", limit: 100 },
    });
    // SSML problems come with their places, for a client to point at.
    const ssml = '<speak>\n好<break time="20s"/>\n<bogus/></speak>';
    const refused = (await (await post("/v1/stream", { ssml })).json()) as {
      error: { code: string; positions: Array<{ offset: number; line: number; column: number; message: string }> };
    };
    expect(refused.error.code).toBe("InvalidSsml");
    expect(refused.error.positions.map((p) => [p.line, p.column, ssml.slice(p.offset, p.offset + 6)])).toEqual([
      [2, 2, "<break"],
      [3, 1, "<bogus"],
    ]);
    expect(await (await post("/v1/stream", { text: "hi", colour: "red" })).json()).toMatchObject({
      error: { field: "colour" },
    });
    expect(
      (
        await fetch(`${stream().url}/v1/stream`, {
          method: "POST",
          headers: { authorization: `Bearer ${API_KEY}` },
          body: "{",
        })
      ).status,
    ).toBe(400);
    expect(cloud().nls.gateway.stats.connections).toBe(before);
  });

  it("turns an upstream failure before the first byte into 502 JSON with the provider's code", async () => {
    cloud().nls.gateway.faults.failNext.push({
      status: 41020001,
      text: "TTS:TtsClientError:[tts]Engine return error code: 418",
    });
    const res = await post("/v1/stream", { text: `failure ${Date.now()}` });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({
      error: { code: "UpstreamError", providerCode: "41020001", retryable: false },
    });
  });

  it("aborts the HTTP stream, rather than ending it cleanly, when the upstream drops mid-audio", async () => {
    const gateway = cloud().nls.gateway;
    gateway.faults.dropAfterBytes = 4096;
    const res = await post("/v1/stream", {
      text: `This stream is cut off by the upstream in the middle. ${Date.now()}`,
      format: "pcm",
    });
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it("closes the upstream connection within a second when the client leaves mid-stream", async () => {
    const gateway = cloud().nls.gateway;
    gateway.faults.frameDelayMs = 30;
    try {
      const aborter = new AbortController();
      const res = await post("/v1/stream", {
        text: `A long sentence that takes a while to stream ${Date.now()}.`,
        format: "pcm",
      });
      const reader = res.body!.getReader();
      await reader.read();
      expect(gateway.stats.open).toBeGreaterThan(0);
      await reader.cancel();
      aborter.abort();
      await eventually(() => gateway.stats.open === 0, 1000);
    } finally {
      gateway.faults.frameDelayMs = 0;
    }
  });
});

describe("stream function: official SDKs", () => {
  it("gives the official openai SDK playable audio", async () => {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${stream().url}/v1`, maxRetries: 0 });
    const response = await client.audio.speech.create({
      model: "tts-1",
      voice: "nova",
      input: `你好，OpenAI ${Date.now()}`,
      response_format: "mp3",
      speed: 1.25,
    });
    const audio = Buffer.from(await response.arrayBuffer());
    expect(mp3DurationMs(audio)).toBeGreaterThan(500);
    const wrong = new OpenAI({ apiKey: "wrong-key-123", baseURL: `${stream().url}/v1`, maxRetries: 0 });
    await expect(wrong.audio.speech.create({ model: "tts-1", voice: "alloy", input: "hi" })).rejects.toMatchObject({
      status: 401,
    });
    await expect(
      client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "hi", response_format: "opus" }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it("lets the official alibabacloud-nls SDK synthesize through /ws/v1 with our API key as its token", async () => {
    const tts = new SpeechSynthesizer({
      url: `${stream().wsUrl}/ws/v1`,
      appkey: "ignored-by-the-proxy",
      token: API_KEY,
    });
    const chunks: Buffer[] = [];
    const metas: string[] = [];
    tts.on("data", (d: Buffer) => chunks.push(d));
    tts.on("meta", (m: string) => metas.push(m));
    const done = await tts.start(
      { ...tts.defaultStartParams("siqi"), text: "通过代理合成", format: "mp3", enable_subtitle: true },
      false,
      6000,
    );
    expect(JSON.parse(done).header).toMatchObject({ name: "SynthesisCompleted", status: 20000000 });
    expect(mp3Frames(Buffer.concat(chunks)).length).toBeGreaterThan(5);
    expect(JSON.parse(metas[0]!).payload.subtitles.length).toBeGreaterThan(0);
  });

  it("relays an upstream TaskFailed to the NLS SDK with the upstream's code", async () => {
    cloud().nls.gateway.faults.failNext.push({
      status: 41020001,
      text: "TTS:TtsClientError:[tts]Engine return error code: 413",
    });
    const tts = new SpeechSynthesizer({ url: `${stream().wsUrl}/ws/v1`, appkey: "x", token: API_KEY });
    const failed = await tts
      .start({ ...tts.defaultStartParams("xiaoyun"), text: "hi" }, false, 6000)
      .catch((e: unknown) => e);
    expect(JSON.parse(String(failed)).header).toMatchObject({
      name: "TaskFailed",
      status: 41020001,
      status_text: expect.stringMatching(/413/),
    });
  });

  it("fails the NLS SDK with TaskFailed for a wrong key, and for text over 300 characters, without going upstream", async () => {
    const before = cloud().nls.gateway.stats.connections;
    const bad = new SpeechSynthesizer({ url: `${stream().wsUrl}/ws/v1`, appkey: "x", token: "wrong-key-123" });
    const denied = await bad
      .start({ ...bad.defaultStartParams("xiaoyun"), text: "hi" }, false, 6000)
      .catch((e: unknown) => e);
    expect(JSON.parse(String(denied)).header).toMatchObject({ name: "TaskFailed", status: 40000001 });
    const ok = new SpeechSynthesizer({ url: `${stream().wsUrl}/ws/v1`, appkey: "x", token: API_KEY });
    const long = await ok
      .start({ ...ok.defaultStartParams("xiaoyun"), text: "字".repeat(301) }, false, 6000)
      .catch((e: unknown) => e);
    expect(JSON.parse(String(long)).header).toMatchObject({
      name: "TaskFailed",
      status: 40000003,
      status_text: expect.stringMatching(/at most 300/),
    });
    expect(cloud().nls.gateway.stats.connections).toBe(before);
  });

  it("lists every provider's voices with models, sample rates, timestamps and SSML, and what MiniMax takes", async () => {
    const body = (await (await fetch(`${stream().url}/v1/voices`)).json()) as {
      voices: Array<{
        provider: string;
        id: string;
        models?: string[];
        sampleRates: number[];
        timestamps: boolean;
        ssml: boolean;
      }>;
      providers: Record<string, { models?: string[]; ssml: boolean }>;
    };
    expect(body.voices.find((v) => v.id === "siqi")).toMatchObject({ provider: "nls", timestamps: true, ssml: true });
    expect(body.voices.find((v) => v.id === "xiaoyun")).toMatchObject({ provider: "nls", timestamps: false });
    expect(body.voices.find((v) => v.id === "longanyang")).toMatchObject({
      provider: "cosyvoice",
      models: ["cosyvoice-v3-flash", "cosyvoice-v3-plus"],
      timestamps: true,
      ssml: true,
    });
    expect(body.providers.minimax).toMatchObject({
      ssml: false,
      models: expect.arrayContaining(["MiniMax/speech-02-turbo"]),
    });
  });
});
