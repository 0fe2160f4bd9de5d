/**
 * The job provider ports: each checks a job's text and options by its provider's own rules before anything is
 * submitted, refusing what the provider cannot do with the field the user wrote, and states its time limits.
 */
import { describe, expect, it } from "vitest";
import { iceProvider, minimaxProvider, nlsProvider } from "../../lib/jobs/providers.js";
import { type JobOptions, JobOptionsSchema } from "../../lib/jobs/schema.js";
import { MinimaxClient } from "../../lib/providers/dashscope/minimax.js";
import { IceClient } from "../../lib/providers/ice/client.js";
import { NlsLongTextClient } from "../../lib/providers/nls/long-text.js";

const credentials = () => ({ accessKeyId: "AK", accessKeySecret: "SK" });
const nls = nlsProvider(
  new NlsLongTextClient({
    url: "https://nls.invalid/rest/v1/tts/async",
    appKey: "app",
    tokens: { token: async () => "t", invalidate: () => undefined } as never,
  }),
);
const ice = iceProvider(new IceClient({ endpoint: "https://ice.invalid", credentials }), "bucket");
const minimax = minimaxProvider(new MinimaxClient({ url: "https://dashscope.invalid", apiKey: "k" }));
const options = (o: Record<string, unknown> = {}): JobOptions => JobOptionsSchema.parse({ voice: "siqi", ...o });

describe("the job provider ports", () => {
  it("count the characters each provider bills", () => {
    expect(nls.validate("你好，世界。", false, options()).characters).toBe(6);
    expect(ice.validate("你好，世界。", false, options()).characters).toBeGreaterThan(0);
    expect(minimax.validate("你好。", false, options({ voice: "male-qn-qingse", subtitles: [] })).characters).toBe(3);
  });

  it("refuse what a provider cannot do, naming the field the user wrote", () => {
    expect(() => nls.validate("好。", false, options({ customizedVoice: "my-voice" }))).toThrow(/customizedVoice/);
    expect(() => nls.validate("好。", false, options({ overwrite: false }))).toThrow(/overwrite/);
    // MiniMax gives no sentence timings here: subtitles are refused, not answered with empty files.
    expect(() => minimax.validate("好。", false, options({ voice: "male-qn-qingse", subtitles: ["srt"] }))).toThrow(
      expect.objectContaining({ field: "subtitles" }),
    );
    expect(() => minimax.validate("<speak>好。</speak>", true, options({ subtitles: [] }))).toThrow(
      expect.objectContaining({ field: "ssml" }),
    );
  });

  it("state each provider's deadline, and retention only where the provider keeps the audio", () => {
    expect(nls.deadline.ms).toBe(3 * 3600_000);
    expect(nls.retention?.ms).toBe(7 * 24 * 3600_000);
    expect(minimax.retention?.ms).toBe(24 * 3600_000);
    expect(ice.retention).toBeUndefined();
    expect(ice.audio).toBe("bucket");
    expect(minimax.synchronous).toBe(true);
  });
});
