import { describe, expect, it } from "vitest";
import { InputError } from "../../lib/errors.js";
import { checkCosyVoice, cosyVoiceModelFor } from "../../lib/voices/cosyvoice.js";
import { findNlsVoice, NLS_VOICES, NlsVoiceSchema, validateVoiceRequest } from "../../lib/voices/index.js";

describe("voice catalogue", () => {
  it("holds all 149 voices of the seeds, each matching the schema", () => {
    expect(NLS_VOICES).toHaveLength(149);
    for (const v of NLS_VOICES) NlsVoiceSchema.parse(v);
    expect(new Set(NLS_VOICES.map((v) => v.id)).size).toBe(149);
  });

  it("carries each voice's table entry", () => {
    expect(findNlsVoice("xiaoyun")).toMatchObject({ sampleRates: [8000, 16000], timestamps: false, edition: "lite" });
    expect(findNlsVoice("siqi")).toMatchObject({ sampleRates: [8000, 16000, 24000], timestamps: true });
    expect(findNlsVoice("zhiwei")).toMatchObject({ sampleRates: [8000, 16000, 24000, 48000], edition: "premium" });
  });

  it("has the seven multi-emotion voices with their categories", () => {
    const emo = NLS_VOICES.filter((v) => v.emotions);
    expect(emo.map((v) => v.id).sort()).toEqual([
      "zhibei_emo",
      "zhibing_emo",
      "zhifeng_emo",
      "zhimi_emo",
      "zhimiao_emo",
      "zhitian_emo",
      "zhiyan_emo",
    ]);
    expect(findNlsVoice("zhimiao_emo")?.emotions).toHaveLength(17);
    expect(findNlsVoice("zhiyan_emo")?.emotions).toContain("arousal");
  });
});

describe("validateVoiceRequest", () => {
  it("refuses an unknown voice, naming the field and suggesting near names", () => {
    expect(() => validateVoiceRequest({ voice: "xiaoyunn", sampleRate: 16000, mode: "short" })).toThrow(
      /voice: unknown NLS voice "xiaoyunn"; did you mean xiaoyun/,
    );
  });

  it("refuses a sample rate the voice lacks, and 24 kHz in long-text mode", () => {
    expect(() => validateVoiceRequest({ voice: "xiaoyun", sampleRate: 24000, mode: "short" })).toThrow(InputError);
    expect(validateVoiceRequest({ voice: "siqi", sampleRate: 24000, mode: "short" }).id).toBe("siqi");
    expect(() => validateVoiceRequest({ voice: "siqi", sampleRate: 24000, mode: "long" })).toThrow(/long-text/);
  });

  it("refuses subtitles for voices without timestamps and emotions a voice lacks", () => {
    expect(() =>
      validateVoiceRequest({ voice: "xiaoyun", sampleRate: 16000, mode: "short", enableSubtitle: true }),
    ).toThrow(/timestamps/);
    expect(() =>
      validateVoiceRequest({ voice: "zhifeng_emo", sampleRate: 16000, mode: "short", emotion: "hate" }),
    ).toThrow(/emotion: zhifeng_emo supports/);
    expect(() => validateVoiceRequest({ voice: "siqi", sampleRate: 16000, mode: "short", emotion: "happy" })).toThrow(
      /not a multi-emotion voice/,
    );
  });
});

describe("CosyVoice voices", () => {
  it("knows the documented system voices, and gives a voice named without a model its own model", () => {
    expect(cosyVoiceModelFor("longxiaochun_v2")).toBe("cosyvoice-v2");
    expect(cosyVoiceModelFor("longcheng_v2")).toBe("cosyvoice-v2");
    expect(cosyVoiceModelFor("longanyang")).toBe("cosyvoice-v3-flash");
    expect(cosyVoiceModelFor("cosyvoice-v3-plus-myvoice-0123abcd")).toBe("cosyvoice-v3-plus");
    expect(() => checkCosyVoice("cosyvoice-v2", "longwan_v2")).not.toThrow();
    expect(() => checkCosyVoice("cosyvoice-v3-flash", "longwan_v2")).toThrow(/works with cosyvoice-v2/);
  });

  it("points cosyvoice-v1's voice names to their v2 successors", () => {
    expect(() => checkCosyVoice("cosyvoice-v2", "longxiaochun")).toThrow(
      /did you mean longxiaochun_v2 \(cosyvoice-v2\)/,
    );
  });
});
