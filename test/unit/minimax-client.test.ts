/** The MiniMax client's checks before sending, and how it reads MiniMax's answers and refusals. */
import { describe, expect, it } from "vitest";
import { InputError, UpstreamError } from "../../lib/errors.js";
import { MinimaxClient, parseMinimaxFrame } from "../../lib/providers/dashscope/minimax.js";

const client = new MinimaxClient({ url: "https://dashscope.invalid", apiKey: "k" });
const input = (text: string) => ({ text, voice_setting: { voice_id: "male-qn-qingse" } });

describe("the MiniMax client", () => {
  it("fills in seed 004's defaults and refuses text of 10,000 characters or more with 413", () => {
    const req = client.prepare("MiniMax/speech-02-turbo", input("你好。"));
    expect(req.input.audio_setting).toMatchObject({ sample_rate: 32000, format: "mp3" });
    // MiniMax's own AI-generated-content watermark is asked for, unless the caller says otherwise.
    expect(req.input.aigc_watermark).toBe(true);
    expect(
      client.prepare("MiniMax/speech-02-turbo", { ...input("你好。"), aigc_watermark: false }).input.aigc_watermark,
    ).toBe(false);
    expect(() => client.prepare("MiniMax/speech-02-turbo", input("好".repeat(10_000)))).toThrow(
      expect.objectContaining({ field: "input.text", statusCode: 413 }),
    );
    expect(() => client.prepare("MiniMax/speech-01", input("好"))).toThrow(InputError);
  });

  it("reads the audio of a frame, and each kind of refusal as what it is", () => {
    expect(
      parseMinimaxFrame({ data: { audio: "ff00", status: 2 }, base_resp: { status_code: 0, status_msg: "ok" } }),
    ).toEqual({
      audio: "ff00",
      status: 2,
    });
    // DashScope's own refusals: throttling may pass, the rest will not.
    expect(() => parseMinimaxFrame({ code: "Throttling.RateQuota", message: "slow down" })).toThrow(
      expect.objectContaining({ retryable: true }),
    );
    expect(() => parseMinimaxFrame({ code: "InvalidApiKey", message: "no" })).toThrow(
      expect.objectContaining({ retryable: false }),
    );
    // 2013: the request was wrong (a voice MiniMax does not have): the user's 400, not a retry.
    expect(() =>
      parseMinimaxFrame({ base_resp: { status_code: 2013, status_msg: "invalid params, voice_id x does not exist" } }),
    ).toThrow(expect.objectContaining({ field: "voice", code: "RefusedByProvider" }));
    expect(() => parseMinimaxFrame({ base_resp: { status_code: 1002, status_msg: "rate limited" } })).toThrow(
      UpstreamError,
    );
    expect(() => parseMinimaxFrame("not a frame")).toThrow(expect.objectContaining({ providerCode: "InvalidMessage" }));
  });
});
