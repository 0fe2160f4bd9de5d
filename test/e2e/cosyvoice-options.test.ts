/**
 * CosyVoice's own options — `seed`, `languageHints`, `instruction` — reach DashScope's run-task on every path that can
 * speak CosyVoice (the stream, the timed stream, a live stream, the OpenAI-compatible endpoint), validated first by
 * the documented ranges and by what the model takes; and on a path or provider that cannot use one, it is refused
 * naming the field, never dropped. No provider task starts for a refused request.
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";

const cloud = useLocalCloud();
const stream = useStreamServer(cloud, { TTS_CACHE: "false" });

const post = (body: Record<string, unknown>) =>
  fetch(`${stream().url}/v1/stream`, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const lastRunTask = () => cloud().dashscope.cosyvoice.runTasks.at(-1)!;

describe("CosyVoice's seed, language and instruction", () => {
  it("pass to DashScope's run-task from a stream, with the v3 voice's model", async () => {
    const res = await post({
      provider: "cosyvoice",
      voice: "longanyang",
      text: "Speak this with care.",
      seed: 42,
      languageHints: ["en"],
      instruction: "Speak slowly and warmly.",
    });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    expect(lastRunTask()).toMatchObject({
      model: "cosyvoice-v3-flash",
      parameters: { seed: 42, language_hints: ["en"], instruction: "Speak slowly and warmly." },
    });
  });

  it.each([
    [{ provider: "cosyvoice", voice: "longanyang", seed: 65_536 }, "seed"],
    [{ provider: "cosyvoice", voice: "longanyang", seed: 1.5 }, "seed"],
    [{ provider: "cosyvoice", voice: "longanyang", languageHints: ["en", "zh"] }, "languageHints"],
    [{ provider: "cosyvoice", voice: "longanyang", languageHints: ["xx"] }, "languageHints.0"],
    [{ provider: "cosyvoice", voice: "longxiaochun_v2", instruction: "Be cheerful." }, "instruction"],
    [{ provider: "nls", voice: "siqi", seed: 1 }, "seed"],
    [{ provider: "nls", voice: "siqi", instruction: "Be cheerful." }, "instruction"],
    [{ provider: "nls", voice: "siqi", timestamps: true, languageHints: ["zh"] }, "languageHints"],
  ])("refuses %j naming %s, before any task starts", async (options, field) => {
    const tasks = cloud().dashscope.cosyvoice.stats.tasks + cloud().nls.gateway.stats.tasks;
    const res = await post({ text: "你好。", ...options });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
    expect(cloud().dashscope.cosyvoice.stats.tasks + cloud().nls.gateway.stats.tasks).toBe(tasks);
  });

  it("reach a live stream's task, and are refused on a live NLS stream", async () => {
    const speak = (start: Record<string, unknown>) =>
      new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
        const ws = new WebSocket(`${stream().wsUrl}/v1/live`, { headers: { authorization: `Bearer ${API_KEY}` } });
        const messages: Array<Record<string, unknown>> = [];
        ws.on("error", reject);
        ws.on("open", () => {
          ws.send(JSON.stringify({ type: "start", format: "pcm", ...start }));
          ws.send(JSON.stringify({ type: "text", text: "今天很好。" }));
          ws.send(JSON.stringify({ type: "end" }));
        });
        ws.on("message", (d, binary) => {
          if (!binary) messages.push(JSON.parse(d.toString()));
        });
        ws.on("close", () => resolve(messages));
      });
    const spoken = await speak({ provider: "cosyvoice", languageHints: ["zh"], seed: 7 });
    expect(spoken.at(-1)).toMatchObject({ type: "end", reason: "done" });
    expect(lastRunTask().parameters).toMatchObject({ language_hints: ["zh"], seed: 7 });
    const refused = await speak({ provider: "nls", seed: 7 });
    expect(refused[0]).toMatchObject({ type: "error", error: { field: "seed" } });
  });

  it("take OpenAI's instructions for a CosyVoice v3 voice, through the official SDK; refused for v2 and NLS voices", async () => {
    const openai = new OpenAI({ baseURL: `${stream().url}/v1`, apiKey: API_KEY });
    const res = await openai.audio.speech.create({
      model: "tts-1",
      voice: "longanyang",
      input: "An instructed voice.",
      instructions: "Whisper, as if telling a secret.",
      response_format: "pcm",
    });
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    expect(lastRunTask()).toMatchObject({
      model: "cosyvoice-v3-flash",
      parameters: { instruction: "Whisper, as if telling a secret.", sample_rate: 24000, format: "pcm" },
    });
    for (const voice of ["longxiaochun_v2", "nova"]) {
      const refused = await openai.audio.speech
        .create({ model: "tts-1", voice, input: "No.", instructions: "Whisper." })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
      expect((refused as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ field: "instructions" });
    }
  });
});
