/** What the ICE and CosyVoice clients check before anything is sent, each refusal naming the user's field. */
import { describe, expect, it } from "vitest";
import { CosyVoiceSynthesizer } from "../../lib/providers/dashscope/cosyvoice.js";
import { IceClient, parseAiResult } from "../../lib/providers/ice/client.js";

const ice = new IceClient({
  endpoint: "https://ice.invalid",
  credentials: () => ({ accessKeyId: "AK", accessKeySecret: "SK" }),
});
const out = { bucket: "bucket", object: "output/a" };

describe("ICE's submission", () => {
  it("builds EditingConfig and OutputConfig as the document shows them, with the callback in UserData", () => {
    const sub = ice.prepare({ text: "你好。", voice: "siqi", format: "mp3" }, out, "https://cb.example.com/x");
    expect(JSON.parse(sub.EditingConfig)).toMatchObject({ voice: "siqi", format: "MP3", sample_rate: 16000 });
    expect(JSON.parse(sub.OutputConfig)).toEqual(out);
    expect(JSON.parse(sub.UserData!)).toEqual({ NotifyAddress: "https://cb.example.com/x" });
    const cloned = ice.prepare({ text: "你好。", customizedVoice: "my-voice_1" }, out);
    expect(JSON.parse(cloned.EditingConfig)).toMatchObject({ customizedVoice: "my-voice_1" });
  });

  it("refuses a rate the voice lacks, text past 10,000 characters, and a title past 128 bytes", () => {
    expect(() => ice.prepare({ text: "好。", voice: "siqi", sampleRate: 48000 }, out)).toThrow(
      expect.objectContaining({ field: "sampleRate" }),
    );
    expect(() => ice.prepare({ text: "好".repeat(10_001) }, out)).toThrow(
      expect.objectContaining({ field: "text", statusCode: 413 }),
    );
    expect(() => ice.prepare({ text: "好。", title: "题".repeat(50) }, out)).toThrow(
      expect.objectContaining({ field: "title" }),
    );
  });

  it("reads AiResult's sentences, and nothing from what is not them", () => {
    expect(parseAiResult('[{"text":"你好。","begin_time":0,"end_time":900}]')).toEqual([
      { text: "你好。", begin_time: 0, end_time: 900 },
    ]);
    expect(parseAiResult("not json")).toEqual([]);
    expect(parseAiResult(undefined)).toEqual([]);
  });
});

describe("CosyVoice's task", () => {
  const cosy = new CosyVoiceSynthesizer({ url: "wss://dashscope.invalid", apiKey: "k" });

  it("plans the run-task parameters and the continue-task texts", () => {
    const plan = cosy.prepare({ text: "你好。", wordTimestamps: true });
    expect(plan.model).toBe("cosyvoice-v3-flash");
    expect(plan.parameters).toMatchObject({ voice: "longanyang", enable_ssml: false, word_timestamp_enabled: true });
    expect(plan.messages).toEqual(["你好。"]);
    // CosyVoice counts a Han character as 2 and the full stop as 1.
    expect(plan.characters).toBe(5);
    expect(cosy.prepare({ ssml: "<speak>你好</speak>" }).parameters.enable_ssml).toBe(true);
  });

  it("refuses an unknown voice, empty text and SSML over one request's limit, naming the field", () => {
    expect(() => cosy.prepare({ text: "好。", voice: "nobody" })).toThrow();
    expect(() => cosy.prepare({ text: "   " })).toThrow(expect.objectContaining({ field: "text", code: "EmptyText" }));
    expect(() => cosy.prepare({ ssml: `<speak>${"好".repeat(20_000)}</speak>` })).toThrow(
      expect.objectContaining({ field: "ssml", statusCode: 413 }),
    );
  });
});
