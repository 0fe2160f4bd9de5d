/**
 * OpenAI's streamed speech through the official openai SDK: `stream_format: "sse"` answers server-sent events, each a
 * base64 audio delta, then `speech.audio.done` with the billed characters as usage; the audio they carry is the same
 * speech the plain request answers. An `instructions` field is refused naming it (NLS voices take none), never dropped.
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { mp3DurationMs, mp3Frames } from "../../lib/audio/mp3.js";
import { countNlsChars } from "../../lib/text/index.js";
import { audioAfterLabel } from "../helpers/labels.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";

const cloud = useLocalCloud();
const stream = useStreamServer(cloud, { TTS_CACHE: "false" });

/** The `data:` objects of a server-sent event stream. */
async function events(res: Response): Promise<Array<Record<string, unknown>>> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => JSON.parse(block.slice("data: ".length)) as Record<string, unknown>);
}

describe("OpenAI's streamed speech (stream_format: sse)", () => {
  it("streams base64 deltas, then done with the billed characters; the audio is the plain request's", async () => {
    const openai = new OpenAI({ baseURL: `${stream().url}/v1`, apiKey: API_KEY });
    const input = `流式事件的测试句子，第${Date.now() % 1000}号。Then a few English words.`;
    const res = await openai.audio.speech.create({
      model: "tts-1",
      voice: "nova",
      input,
      stream_format: "sse",
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const all = await events(res);
    const deltas = all.filter((e) => e.type === "speech.audio.delta");
    expect(deltas.length).toBeGreaterThan(0);
    expect(all.at(-1)).toEqual({
      type: "speech.audio.done",
      usage: { input_tokens: countNlsChars(input), output_tokens: 0, total_tokens: countNlsChars(input) },
    });
    expect(all.filter((e) => e.type !== "speech.audio.delta")).toHaveLength(1);
    const audio = Buffer.concat(deltas.map((d) => Buffer.from(d.audio as string, "base64")));
    // A labelled MP3 of whole frames, as the same request without sse answers.
    expect(audio.subarray(0, 3).toString("latin1")).toBe("ID3");
    expect(mp3Frames(audioAfterLabel(audio)).length).toBeGreaterThan(5);
    const plain = Buffer.from(
      await (await openai.audio.speech.create({ model: "tts-1", voice: "nova", input })).arrayBuffer(),
    );
    // The same speech: as many frames, of the same length (the engine's bytes vary from one synthesis to the next).
    expect(mp3DurationMs(audioAfterLabel(audio))).toBe(mp3DurationMs(audioAfterLabel(plain)));
  });

  it("refuses instructions naming the field (NLS voices take none), before any upstream task", async () => {
    const openai = new OpenAI({ baseURL: `${stream().url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const tasks = cloud().nls.gateway.stats.tasks;
    const refused = await openai.audio.speech
      .create({ model: "gpt-4o-mini-tts", voice: "nova", input: "你好。", instructions: "Speak cheerfully." })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ field: "instructions" });
    expect(cloud().nls.gateway.stats.tasks).toBe(tasks);
  });
});
