/**
 * The MiniMax emulator's own reading of seed 004 against the client's schema: every request the client makes passes
 * the emulator's check, and what the document forbids is refused by both, each naming the field.
 */
import { describe, expect, it } from "vitest";
import { checkMinimaxRequest } from "../../infra/local/dashscope/minimax-wire.js";
import { MinimaxRequestSchema } from "../../lib/providers/dashscope/minimax.js";

const request = (input: Record<string, unknown>, model = "MiniMax/speech-02-turbo") => ({
  model,
  input: { text: "你好", voice_setting: { voice_id: "male-qn-qingse" }, ...input },
});

describe("the MiniMax emulator's wire check (seed 004, written on its own)", () => {
  it.each([
    ["defaults", {}],
    ["every audio setting", { audio_setting: { sample_rate: 44100, bitrate: 256000, format: "wav", channel: 2 } }],
    ["a URL answer", { output_format: "url" }],
    ["a blend of voices", { voice_setting: { voice_id: "" }, timbre_weights: [{ voice_id: "a", weight: 50 }] }],
    [
      "rate, volume, pitch, emotion",
      { voice_setting: { voice_id: "v", speed: 2, vol: 10, pitch: -12, emotion: "calm" } },
    ],
  ])("accepts what the client sends: %s", (_name, input) => {
    const body = request(input);
    expect(MinimaxRequestSchema.safeParse(body).success).toBe(true);
    expect(checkMinimaxRequest(body)).not.toHaveProperty("problem");
  });

  it.each([
    ["an unknown model", request({}, "MiniMax/speech-01"), "model"],
    ["no text", request({ text: "" }), "input.text"],
    ["speed over 2.0", request({ voice_setting: { voice_id: "v", speed: 2.5 } }), "input.voice_setting.speed"],
    ["volume 0", request({ voice_setting: { voice_id: "v", vol: 0 } }), "input.voice_setting.vol"],
    ["a fractional pitch", request({ voice_setting: { voice_id: "v", pitch: 1.5 } }), "input.voice_setting.pitch"],
    [
      "a sample rate not in the table",
      request({ audio_setting: { sample_rate: 48000 } }),
      "input.audio_setting.sample_rate",
    ],
    [
      "whisper on speech-2.8",
      request({ voice_setting: { voice_id: "v", emotion: "whisper" } }, "MiniMax/speech-2.8-hd"),
      "input.voice_setting.emotion",
    ],
    ["no voice and no blend", request({ voice_setting: { voice_id: "" } }), "input.voice_setting.voice_id"],
  ])("refuses %s, naming the field, as the client does", (_name, body, field) => {
    expect(MinimaxRequestSchema.safeParse(body).success).toBe(false);
    const checked = checkMinimaxRequest(body);
    expect(checked).toHaveProperty("problem");
    expect((checked as { problem: string }).problem.startsWith(`${field}:`)).toBe(true);
  });
});
