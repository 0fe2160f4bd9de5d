import { describe, expect, it, vi } from "vitest";
import { mp3DurationMs, mp3Frames } from "../../lib/audio/mp3.js";
import { readWav } from "../../lib/audio/wav.js";
import { InputError, UpstreamError } from "../../lib/errors.js";
import { NlsSynthesizer } from "../../lib/providers/nls/synthesizer.js";
import { NlsTokenClient } from "../../lib/providers/nls/token.js";
import { openShortSpeech } from "../../lib/speech/short.js";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ gateway: { frameBytes: 2048 } });

function synthesizer(overrides: Partial<ConstructorParameters<typeof NlsSynthesizer>[0]> = {}): NlsSynthesizer {
  const c = cloud();
  const tokens = new NlsTokenClient({
    endpoint: c.urls.nlsMeta,
    credentials: { accessKeyId: c.accessKey.accessKeyId, accessKeySecret: c.accessKey.accessKeySecret },
  });
  return new NlsSynthesizer({ url: c.urls.nlsGateway, appKey: c.appKey, tokens, retry: { baseMs: 1 }, ...overrides });
}

describe("NlsSynthesizer against the local gateway", () => {
  it("starts on a warm connection: the handshake is paid before the request, not in its first byte", async () => {
    const gateway = cloud().nls.gateway;
    gateway.faults.handshakeDelayMs = 300;
    const firstByte = async (nls: NlsSynthesizer): Promise<number> => {
      const t0 = performance.now();
      for await (const event of nls.synthesize({ text: "热连接。", voice: "xiaoyun", format: "pcm" }))
        if (event.type === "audio") return performance.now() - t0;
      throw new Error("no audio");
    };
    const warm = synthesizer({ warmSockets: 1 });
    const arriving = synthesizer({ warmSockets: 1 });
    try {
      const cold = await firstByte(synthesizer());
      warm.prewarm();
      await eventually(() => cloud().nls.gateway.stats.open > 0, 2000);
      await new Promise((r) => setTimeout(r, 350));
      const warmed = await firstByte(warm);
      expect(cold).toBeGreaterThanOrEqual(300);
      expect(warmed).toBeLessThan(cold - 200);
      expect(warm.warmStats).toMatchObject({ used: 1 });
      // The replacement for the socket taken is begun only after the first audio has been handed on: its handshake
      // does not compete with the request for the CPU before the first byte.
      const replacing = synthesizer({ warmSockets: 1 });
      replacing.prewarm();
      await eventually(() => replacing.warmStats?.opened === 1, 2000);
      let startedAtFirstAudio = -1;
      for await (const event of replacing.synthesize({ text: "替换。", voice: "xiaoyun", format: "pcm" }))
        if (event.type === "audio" && startedAtFirstAudio === -1)
          startedAtFirstAudio = replacing.warmStats?.started ?? 0;
      expect(startedAtFirstAudio).toBe(1);
      await eventually(() => replacing.warmStats?.started === 2, 2000);
      replacing.close();
      // A request arriving with nothing warm waits for the connection its arrival started, instead of opening another.
      arriving.prewarm();
      await firstByte(arriving);
      expect(arriving.warmStats).toMatchObject({ used: 1 });
    } finally {
      gateway.faults.handshakeDelayMs = 0;
      warm.close();
      arriving.close();
      await eventually(() => gateway.stats.open === 0, 2000);
    }
  });

  it("checks a stream's input once: the plan's prepared payload is what is sent", async () => {
    const nls = synthesizer();
    const prepare = vi.spyOn(nls, "prepare");
    const speech = await openShortSpeech(
      { provider: "nls", text: "只检查一次。", voice: "xiaoyun", format: "pcm" },
      { nls },
    );
    let bytes = 0;
    for await (const chunk of speech.body) bytes += chunk.length;
    expect(bytes).toBeGreaterThan(1000);
    expect(prepare).toHaveBeenCalledTimes(1);
  });

  it("streams MP3 speech whose frames add up to a plausible duration", async () => {
    const { audio } = await synthesizer().synthesizeToBuffer({
      text: "今天天气很好，我们去公园散步吧。",
      voice: "xiaoyun",
      format: "mp3",
      sampleRate: 16000,
    });
    const frames = mp3Frames(audio);
    expect(frames.length).toBeGreaterThan(20);
    expect(frames[0]!.sampleRate).toBe(16000);
    const ms = mp3DurationMs(audio);
    // 15 characters at roughly 4 characters per second (seed 000)
    expect(ms).toBeGreaterThan(1500);
    expect(ms).toBeLessThan(12_000);
  });

  it("returns WAV at the requested sample rate, in several chunks", async () => {
    let chunks = 0;
    const parts: Buffer[] = [];
    for await (const event of synthesizer().synthesize({
      text: "Hello from the local cloud.",
      voice: "andy",
      format: "wav",
      sampleRate: 8000,
    })) {
      if (event.type === "audio") {
        chunks++;
        parts.push(event.data);
      }
    }
    const wav = readWav(Buffer.concat(parts));
    expect(chunks).toBeGreaterThan(1);
    expect(wav).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16 });
    expect(wav!.durationMs).toBeGreaterThan(800);
  });

  it("delivers MetaInfo subtitles for a voice with timestamps", async () => {
    const { subtitles } = await synthesizer().synthesizeToBuffer({
      text: "你好世界",
      voice: "siqi",
      format: "pcm",
      sampleRate: 16000,
      enableSubtitle: true,
    });
    expect(subtitles.map((s) => s.text)).toEqual(["你", "好", "世", "界"]);
    expect(
      subtitles.every((s, i) => s.end_time >= s.begin_time && (i === 0 || s.begin_time >= subtitles[i - 1]!.end_time)),
    ).toBe(true);
  });

  it("refuses over-long text, unknown voices and bad SSML before connecting", async () => {
    const before = cloud().nls.gateway.stats.connections;
    const s = synthesizer();
    await expect(s.synthesizeToBuffer({ text: "字".repeat(301) })).rejects.toMatchObject({
      field: "text",
      details: { limit: 300, actual: 301 },
    });
    await expect(
      s.synthesizeToBuffer({ ssml: `<speak>${"字".repeat(299)}<break time="1s"/>ab</speak>` }),
    ).rejects.toThrow(/301 characters/);
    await expect(s.synthesizeToBuffer({ text: "hi", voice: "nobody" })).rejects.toBeInstanceOf(InputError);
    await expect(s.synthesizeToBuffer({ text: "hi", voice: "xiaoyun", sampleRate: 48000 })).rejects.toMatchObject({
      field: "sampleRate",
    });
    await expect(s.synthesizeToBuffer({ ssml: '<speak><break time="20s"/>x</speak>' })).rejects.toMatchObject({
      field: "ssml",
    });
    await expect(s.synthesizeToBuffer({ text: "  " })).rejects.toMatchObject({ code: "EmptyText" });
    await expect(s.synthesizeToBuffer({ text: "hi", volume: 101 })).rejects.toMatchObject({
      field: "volume",
      details: { limit: 100 },
    });
    expect(cloud().nls.gateway.stats.connections).toBe(before);
  });

  it("sends plain text with markup characters escaped, so it is spoken and never interpreted", async () => {
    const s = synthesizer();
    expect(s.prepare({ text: 'a <speak rate="2"> & b' }).text).toBe(
      "<speak>a &lt;speak rate=&quot;2&quot;&gt; &amp; b</speak>",
    );
    const { audio } = await s.synthesizeToBuffer({ text: "1 < 2 & 3 > 2", format: "mp3" });
    expect(mp3Frames(audio).length).toBeGreaterThan(5);
  });

  it("fails a terminal TaskFailed at once with the seed's code and reason", async () => {
    const gateway = cloud().nls.gateway;
    const tasks = gateway.stats.tasks;
    gateway.faults.failNext.push({ status: 41020001, text: "TTS:TtsClientError:[tts]Engine return error code: 418" });
    const error = await synthesizer()
      .synthesizeToBuffer({ text: "hi" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ providerCode: "41020001", retryable: false });
    expect((error as UpstreamError).explanation).toMatch(/voice/);
    expect(gateway.stats.tasks).toBe(tasks);
    expect(gateway.faults.failNext).toHaveLength(0);
  });

  it("retries transient codes before the first byte, then succeeds", async () => {
    const gateway = cloud().nls.gateway;
    gateway.faults.failNext.push(
      { status: 51020001, text: "TTS:TtsServerError" },
      { status: 40000005, text: "Gateway:TOO_MANY_REQUESTS:Too many requests!" },
    );
    const { audio } = await synthesizer().synthesizeToBuffer({ text: "retry me", format: "mp3" });
    expect(mp3Frames(audio).length).toBeGreaterThan(0);
    expect(gateway.faults.failNext).toHaveLength(0);
  });

  it("refreshes an expired token once (40000001) and completes", async () => {
    const s = synthesizer();
    await s.synthesizeToBuffer({ text: "first" });
    cloud().nls.tokens.expireAll();
    const { audio } = await s.synthesizeToBuffer({ text: "second", format: "mp3" });
    expect(audio.length).toBeGreaterThan(0);
  });

  it("closes the upstream connection within a second when the consumer stops reading", async () => {
    const gateway = cloud().nls.gateway;
    gateway.faults.frameDelayMs = 20;
    try {
      for await (const event of synthesizer().synthesize({
        text: "A longer sentence so that there are many frames to send.",
        format: "pcm",
      })) {
        if (event.type === "audio") break;
      }
      await eventually(() => gateway.stats.open === 0, 1000);
    } finally {
      gateway.faults.frameDelayMs = 0;
    }
  });

  it("raises an error, never hangs, when the gateway drops the connection mid-audio", async () => {
    const gateway = cloud().nls.gateway;
    gateway.faults.dropAfterBytes = 4096;
    let received = 0;
    const error = await (async () => {
      for await (const event of synthesizer().synthesize({
        text: "This stream will be cut in the middle of the audio.",
        format: "pcm",
      })) {
        if (event.type === "audio") received += event.data.length;
      }
    })().catch((e: unknown) => e);
    expect(received).toBeGreaterThan(0);
    expect(error).toMatchObject({ providerCode: "ConnectionClosed" });
  });

  it("keeps memory bounded for a slow consumer by pausing the socket", async () => {
    const gateway = cloud().nls.gateway;
    let maxBuffered = 0;
    const s = synthesizer({ highWaterMark: 8192, onBuffered: (bytes) => (maxBuffered = Math.max(maxBuffered, bytes)) });
    let consumed = 0;
    const sentBefore = gateway.stats.tasks;
    const text = "Backpressure keeps the queue short while the reader is slow. ".repeat(4);
    for await (const event of s.synthesize({ text, format: "pcm", sampleRate: 16000 })) {
      if (event.type !== "audio") continue;
      consumed += event.data.length;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(gateway.stats.tasks).toBe(sentBefore + 1);
    expect(consumed).toBeGreaterThan(300_000);
    // Without the pause the queue would hold nearly all of the audio; with it, the high-water mark plus what one
    // socket read had already delivered (a loopback read is up to 64 KiB).
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThan(8192 + 128 * 1024);
  });
});
