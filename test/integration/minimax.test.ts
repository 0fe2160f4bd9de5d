import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { readWav } from "../../lib/audio/wav.js";
import { InputError, UpstreamError } from "../../lib/errors.js";
import { MinimaxClient, parseMinimaxFrame } from "../../lib/providers/dashscope/minimax.js";
import { breakingEngine } from "../helpers/breaking-engine.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";

const cloud = useLocalCloud();
const stream = useStreamServer(cloud);
const MODEL = "MiniMax/speech-02-turbo";

function client(key?: string): MinimaxClient {
  return new MinimaxClient({ url: cloud().env().DASHSCOPE_HTTP_URL!, apiKey: key ?? cloud().dashscopeApiKey });
}

const voice = { voice_id: "male-qn-qingse" };

describe("MinimaxClient against the local DashScope emulator", () => {
  it("synthesizes synchronously as hex, and as a URL valid for download", async () => {
    const hex = await client().synthesize(MODEL, {
      text: "今天是不是很开心呀",
      voice_setting: voice,
      audio_setting: { format: "mp3", sample_rate: 16000 },
    });
    expect(mp3Frames(hex.audio!).length).toBeGreaterThan(10);
    const url = await client().synthesize(MODEL, {
      text: "返回链接。",
      voice_setting: voice,
      audio_setting: { format: "mp3", sample_rate: 16000 },
      output_format: "url",
    });
    const res = await fetch(url.url!);
    expect(res.status).toBe(200);
    expect(mp3Frames(Buffer.from(await res.arrayBuffer())).length).toBeGreaterThan(5);
  });

  it("answers at the sample rate asked for, every one seed 004 lists, in mp3 and wav", async () => {
    // Seed 004: sample_rate takes 8000, 16000, 22050, 24000, 32000 and 44100. The emulator once answered 24 kHz for
    // 32 and 44.1 kHz, which hid any code that trusted the requested rate to measure durations.
    for (const sample_rate of [8000, 16000, 22050, 24000, 32000, 44100] as const) {
      const mp3 = await client().synthesize(MODEL, {
        text: "采样率。",
        voice_setting: voice,
        audio_setting: { format: "mp3", sample_rate },
      });
      expect(new Set(mp3Frames(mp3.audio!).map((f) => f.sampleRate)), `mp3 at ${sample_rate}`).toEqual(
        new Set([sample_rate]),
      );
      const wav = await client().synthesize(MODEL, {
        text: "采样率。",
        voice_setting: voice,
        audio_setting: { format: "wav", sample_rate },
      });
      expect(readWav(wav.audio!)?.sampleRate, `wav at ${sample_rate}`).toBe(sample_rate);
    }
  });

  it("streams hex chunks over SSE and stops at the final frame", async () => {
    const chunks: Buffer[] = [];
    for await (const c of client().stream(MODEL, {
      text: "流式的 MiniMax 合成，分块返回。",
      voice_setting: voice,
      audio_setting: { format: "mp3", sample_rate: 24000 },
    }))
      chunks.push(c);
    expect(chunks.length).toBeGreaterThan(1);
    expect(mp3Frames(Buffer.concat(chunks)).length).toBeGreaterThan(10);
  });

  it("checks seed 004's ranges before any request, naming the field", () => {
    const c = client();
    const bad = (input: Record<string, unknown>, model = MODEL) => {
      try {
        c.prepare(model, { text: "x", voice_setting: voice, ...input } as never);
        return "accepted";
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        return (error as InputError).field;
      }
    };
    expect(bad({ voice_setting: { ...voice, speed: 2.5 } })).toBe("input.voice_setting.speed");
    expect(bad({ voice_setting: { ...voice, vol: 0 } })).toBe("input.voice_setting.vol");
    expect(bad({ voice_setting: { ...voice, pitch: 13 } })).toBe("input.voice_setting.pitch");
    expect(bad({ audio_setting: { sample_rate: 48000 } })).toBe("input.audio_setting.sample_rate");
    expect(bad({ timbre_weights: Array.from({ length: 5 }, (_, i) => ({ voice_id: `v${i}`, weight: 10 })) })).toBe(
      "input.timbre_weights",
    );
    expect(bad({ timbre_weights: [{ voice_id: "v", weight: 101 }] })).toBe("input.timbre_weights.0.weight");
    expect(bad({ pronunciation_dict: { tone: ["no separator"] } })).toBe("input.pronunciation_dict.tone.0");
    expect(bad({ language_boost: "Klingon" })).toBe("input.language_boost");
    expect(bad({ voice_modify: { pitch: 101 } })).toBe("input.voice_modify.pitch");
    expect(bad({ voice_setting: { ...voice, emotion: "whisper" } }, "MiniMax/speech-2.8-hd")).toBe(
      "input.voice_setting.emotion",
    );
    expect(bad({ voice_setting: { ...voice, emotion: "whisper" } })).toBe("accepted");
    expect(
      bad({
        voice_setting: { voice_id: "" },
        timbre_weights: [
          { voice_id: "a", weight: 50 },
          { voice_id: "b", weight: 50 },
        ],
      }),
    ).toBe("accepted");
    expect(() => c.prepare(MODEL, { text: "字".repeat(10_000), voice_setting: voice })).toThrow(/fewer than 10,000/);
  });

  it("fails a wrong key at once, and reads MiniMax's own error codes", async () => {
    await expect(client("sk-wrong").synthesize(MODEL, { text: "x", voice_setting: voice })).rejects.toMatchObject({
      providerCode: "InvalidApiKey",
      retryable: false,
    });
    expect(() => parseMinimaxFrame({ base_resp: { status_code: 2013, status_msg: "invalid params" } })).toThrow(
      expect.objectContaining({ field: "input", statusCode: 400 }),
    );
    expect(() => parseMinimaxFrame({ base_resp: { status_code: 1026, status_msg: "input sensitive" } })).toThrow(
      UpstreamError,
    );
    expect(() => parseMinimaxFrame({ base_resp: { status_code: 1002, status_msg: "rate limit" } })).toThrow(
      expect.objectContaining({ retryable: true }),
    );
  });

  it("refuses a voice MiniMax does not have, as MiniMax does (2013 in base_resp), and flac it cannot make", async () => {
    await expect(
      client().synthesize(MODEL, { text: "没有这个声音。", voice_setting: { voice_id: "no-such-voice" } }),
    ).rejects.toMatchObject({ field: "voice", statusCode: 400, message: expect.stringMatching(/2013.*no-such-voice/) });
    await expect(
      client().synthesize(MODEL, {
        text: "混合声音。",
        voice_setting: { voice_id: "" },
        timbre_weights: [
          { voice_id: "female-shaonv", weight: 50 },
          { voice_id: "unknown-blend", weight: 50 },
        ],
      }),
    ).rejects.toMatchObject({ field: "voice", code: "RefusedByProvider" });
    await expect(
      client().synthesize(MODEL, {
        text: "无损格式。",
        voice_setting: voice,
        audio_setting: { format: "flac", sample_rate: 16000, bitrate: 128000, channel: 1 },
      }),
    ).rejects.toMatchObject({ upstreamMessage: expect.stringMatching(/not flac/) });
    // A system voice from MiniMax's English table works.
    const english = await client().synthesize(MODEL, {
      text: "A known voice.",
      voice_setting: { voice_id: "English_CalmWoman" },
    });
    expect(english.audio!.length).toBeGreaterThan(100);
  });

  it("reads a streamed request answered with one JSON frame (a refusal) instead of events", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ base_resp: { status_code: 1026, status_msg: "input new_sensitive" } }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const c = new MinimaxClient({ url, apiKey: "sk-any" });
      await expect(
        (async () => {
          for await (const _ of c.stream(MODEL, { text: "x", voice_setting: voice })) void _;
        })(),
      ).rejects.toMatchObject({ providerCode: "1026", retryable: false });
    } finally {
      server.close();
    }
  });

  it("serves MiniMax on the /v1/stream path", async () => {
    const res = await fetch(`${stream().url}/v1/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        provider: "minimax",
        voice: "male-qn-qingse",
        text: `流式路径上的 MiniMax ${Date.now()}`,
        format: "mp3",
        sampleRate: 24000,
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    expect(mp3Frames(Buffer.from(await res.arrayBuffer())).length).toBeGreaterThan(5);
    // A voice MiniMax does not have is the user's mistake: a 400 naming the field, not a 502.
    const refused = await fetch(`${stream().url}/v1/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ provider: "minimax", voice: "no-such-voice", text: "错的声音。" }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { field: string } }).error.field).toBe("voice");
  });
});

describe("the MiniMax emulator's own faults", () => {
  const breaking = useLocalCloud({ engine: breakingEngine("引擎崩溃") });

  it("answers its own failure as DashScope's InternalError (retryable) instead of ending the process, and goes on", async () => {
    const c = breaking();
    const minimax = new MinimaxClient({ url: c.env().DASHSCOPE_HTTP_URL!, apiKey: c.dashscopeApiKey });
    const request = (text: string) =>
      minimax.synthesize(MODEL, { text, voice_setting: voice, audio_setting: { format: "mp3", sample_rate: 16000 } });
    const error = await request("这里引擎崩溃了。").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ retryable: true });
    expect(mp3Frames((await request("下一个请求照常完成。")).audio!).length).toBeGreaterThan(5);
  });
});
