/** The stream cache keeps tenants and text/SSML apart, and plain text is cut as text (issue 26, defects 6 and 7). */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cacheKey } from "../../lib/speech/cache.js";
import { SpeechRequestSchema } from "../../lib/speech/request.js";
import { nlsPieceInputs } from "../../lib/speech/short.js";
import { codePointCount } from "../../lib/text/index.js";

const fields = {
  provider: "cosyvoice",
  model: "cosyvoice-v3-flash",
  voice: "longanyang",
  format: "mp3",
  sampleRate: 22050,
  volume: 50,
  speechRate: 1,
  pitchRate: 1,
  text: '<speak>你好<break time="2s"/>世界</speak>',
};

describe("the speech cache key", () => {
  it("differs for the same string sent as text and as SSML, and for two tenants", () => {
    const asText = cacheKey({ ...fields, kind: "text", tenant: "a" });
    expect(cacheKey({ ...fields, kind: "ssml", tenant: "a" })).not.toBe(asText);
    expect(cacheKey({ ...fields, kind: "text", tenant: "b" })).not.toBe(asText);
    expect(cacheKey({ ...fields, kind: "text", tenant: "a" })).toBe(asText);
  });

  it("differs for another seed, language or instruction, and stays what it was for a request with none", () => {
    const none = cacheKey({ ...fields, kind: "text", tenant: "a" });
    // The key of a request without options is the one every key was before options existed (a changed key would be
    // a cold cache after the deploy): the digest of the same eleven fields.
    const { provider, model, voice, format, sampleRate, volume, speechRate, pitchRate, text } = fields;
    const before = createHash("sha256")
      .update(
        JSON.stringify([provider, model, voice, format, sampleRate, volume, speechRate, pitchRate, text, "text", "a"]),
      )
      .digest("hex");
    expect(none).toBe(`cache/${before}.mp3`);
    const seeded = cacheKey({ ...fields, kind: "text", tenant: "a", options: JSON.stringify([1, null, null]) });
    const reseeded = cacheKey({ ...fields, kind: "text", tenant: "a", options: JSON.stringify([2, null, null]) });
    expect(new Set([none, seeded, reseeded]).size).toBe(3);
  });
});

describe("plain text that looks like SSML", () => {
  it("is counted and cut as text: a 379-character text starting with <speak> becomes pieces of at most 300", () => {
    const text = `<speak>${"这是一段很长的文字。".repeat(37)}</speak>`;
    expect(codePointCount(text)).toBeGreaterThan(300);
    const req = SpeechRequestSchema.parse({ text, voice: "xiaoyun", format: "mp3" });
    const pieces = nlsPieceInputs(req);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) {
      expect((p as { ssml?: string }).ssml).toBeUndefined();
      expect(codePointCount((p as { text: string }).text)).toBeLessThanOrEqual(300);
    }
    expect(pieces.map((p) => (p as { text: string }).text).join("")).toBe(text);
  });
});
