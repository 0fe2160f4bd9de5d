/**
 * The ICE emulator's own reading of seed 002 against the client's schemas: what the client sends passes it, and what
 * the document forbids is refused by both.
 */
import { describe, expect, it } from "vitest";
import { checkEditingConfig, checkOutputConfig } from "../../infra/local/ice/config-wire.js";
import { EditingConfigSchema, OutputConfigSchema } from "../../lib/providers/ice/client.js";

describe("the ICE emulator's wire check (seed 002, written on its own)", () => {
  it.each([
    ["the document's example", { voice: "Siqi", format: "MP3", volume: 50 }],
    [
      "the sample answer's config",
      { format: "MP3", pitch_rate: 0, sample_rate: 16000, speech_rate: 0, voice: "Siqi", volume: 50 },
    ],
    ["a cloned voice", { customizedVoice: "my-voice_1", format: "WAV" }],
    ["the limits", { format: "PCM", volume: 100, speech_rate: -500, pitch_rate: 500 }],
  ])("accepts %s", (_name, config) => {
    expect(EditingConfigSchema.safeParse(config).success).toBe(true);
    expect(checkEditingConfig(JSON.stringify(config))).not.toHaveProperty("problem");
  });

  it("reads the format in the document's case and answers it as the audio's extension", () => {
    expect(checkEditingConfig('{"format":"MP3","voice":"Siqi"}')).toMatchObject({ format: "mp3", voice: "Siqi" });
  });

  it.each([
    ["an OGG format", { format: "OGG" }, "format"],
    ["no format", { voice: "Siqi" }, "format"],
    ["volume 101", { format: "MP3", volume: 101 }, "volume"],
    ["a speech rate beyond 500", { format: "MP3", speech_rate: 501 }, "speech_rate"],
  ])("refuses %s, as the client does", (_name, config, field) => {
    expect(EditingConfigSchema.safeParse(config).success).toBe(false);
    const checked = checkEditingConfig(JSON.stringify(config));
    expect((checked as { problem?: string }).problem).toContain(field);
  });

  it("takes an OutputConfig with a bucket and an object, and nothing less", () => {
    const good = { bucket: "my_bucket", object: "target_audio" };
    expect(OutputConfigSchema.safeParse(good).success).toBe(true);
    expect(checkOutputConfig(JSON.stringify(good))).toEqual(good);
    expect(checkOutputConfig('{"bucket":"my_bucket"}')).toBeUndefined();
    expect(checkOutputConfig("not json")).toBeUndefined();
  });
});
