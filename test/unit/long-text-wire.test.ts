/**
 * The NLS long-text emulator's own reading of seed 003 against the client's schema: what the client sends passes it,
 * and what the document forbids is refused by both, naming the field.
 */
import { describe, expect, it } from "vitest";
import { checkLongTextRequest } from "../../infra/local/nls/long-text-wire.js";
import { LongTextRequestSchema } from "../../lib/providers/nls/long-text.js";

const body = (tts: Record<string, unknown>, payload: Record<string, unknown> = {}) => ({
  payload: {
    tts_request: { voice: "xiaoyun", sample_rate: 16000, format: "mp3", text: "今天天气好晴朗", ...tts },
    enable_notify: false,
    ...payload,
  },
  context: { device_id: "d" },
  header: { appkey: "app", token: "t" },
});

describe("the long-text emulator's wire check (seed 003, written on its own)", () => {
  it.each([
    ["the document's example", {}],
    [
      "every option at its limits",
      { volume: 100, speech_rate: -500, pitch_rate: 500, enable_subtitle: true, sample_rate: 8000, format: "wav" },
    ],
  ])("accepts what the client sends: %s", (_name, tts) => {
    expect(LongTextRequestSchema.safeParse(body(tts)).success).toBe(true);
    expect(checkLongTextRequest(body(tts))).not.toHaveProperty("problem");
  });

  it("fills in the document's default voice, xiaoyun", () => {
    const { voice: _v, ...tts } = body({}).payload.tts_request;
    const checked = checkLongTextRequest({ ...body({}), payload: { tts_request: tts, enable_notify: false } });
    expect(checked).toMatchObject({ tts: { voice: "xiaoyun" } });
  });

  it.each([
    ["a 24 kHz sample rate", body({ sample_rate: 24000 }), "payload.tts_request.sample_rate"],
    ["an ogg format", body({ format: "ogg" }), "payload.tts_request.format"],
    ["volume 101", body({ volume: 101 }), "payload.tts_request.volume"],
    ["a fractional speech rate", body({ speech_rate: 1.5 }), "payload.tts_request.speech_rate"],
    ["no text", body({ text: "" }), "payload.tts_request.text"],
    [
      "no enable_notify",
      { ...body({}), payload: { tts_request: body({}).payload.tts_request } },
      "payload.enable_notify",
    ],
  ])("refuses %s, naming the field, as the client does", (_name, b, field) => {
    expect(LongTextRequestSchema.safeParse(b).success).toBe(false);
    const checked = checkLongTextRequest(b);
    expect((checked as { problem?: string }).problem?.startsWith(`${field}:`)).toBe(true);
  });
});
