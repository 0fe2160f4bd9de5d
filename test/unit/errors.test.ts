import { describe, expect, it } from "vitest";
import { AppError, InputError, toErrorBody } from "../../lib/errors.js";
import { nlsError } from "../../lib/providers/nls/errors.js";
import { describeNlsStatus, isRetryableNlsCode, NLS_STATUS } from "../../lib/providers/nls/status.js";

describe("NLS status table", () => {
  it("lists every status code of seeds 000 and 003", () => {
    const codes = [
      "20000000",
      "21050000",
      "21050001",
      "21050002",
      "40000000",
      "40000001",
      "40000002",
      "40000003",
      "40000004",
      "40000005",
      "40000009",
      "40000010",
      "40010001",
      "40010003",
      "40010004",
      "40010005",
      "40020105",
      "40020106",
      "403",
      "41000003",
      "41010101",
      "41040201",
      "41020001",
      "50000000",
      "50000001",
      "51020001",
      "52010001",
    ];
    expect(Object.keys(NLS_STATUS).sort()).toEqual(codes.sort());
  });

  it("classifies 5xxxxxxx, 40000005 and 40000004 as retryable and the other errors as terminal", () => {
    const retryable = Object.entries(NLS_STATUS)
      .filter(([, s]) => s.retryable)
      .map(([c]) => c)
      .sort();
    expect(retryable).toEqual(["40000004", "40000005", "50000000", "50000001", "51020001", "52010001"]);
    expect(isRetryableNlsCode("59999999")).toBe(true);
    expect(isRetryableNlsCode("41999999")).toBe(false);
  });

  it("treats RUNNING and QUEUEING as states, not errors", () => {
    expect(NLS_STATUS["21050001"]?.kind).toBe("state");
    expect(NLS_STATUS["21050002"]?.kind).toBe("state");
  });

  it("refines 41020001 by the engine's sub-code", () => {
    expect(describeNlsStatus(41020001, "TTS:TtsClientError:[tts]Engine return error code: 418")?.explanation).toMatch(
      /voice/,
    );
    expect(describeNlsStatus(41020001, "Engine return error code: 413")?.explanation).toMatch(/SSML is malformed/);
    expect(describeNlsStatus(41020001, "Engine return error code: 424.")?.explanation).toMatch(/background music/);
    expect(describeNlsStatus(41020001, "SSML text length should be less than 300.")?.explanation).toMatch(/long-text/);
  });
});

describe("UpstreamError", () => {
  it("takes retryability and token refresh from the table", () => {
    const throttled = nlsError({ code: 40000005 });
    expect(throttled.retryable).toBe(true);
    expect(throttled.upstreamMessage).toMatch(/TOO_MANY_REQUESTS/);
    const expired = nlsError({ code: "40000001", upstreamMessage: "The token 'x' has expired." });
    expect(expired.retryable).toBe(false);
    expect(expired.needsNewToken).toBe(true);
  });
});

describe("toErrorBody", () => {
  it("shows a 4xx error's field and limit", () => {
    const { statusCode, body } = toErrorBody(
      new InputError("text", "must be at most 300 characters", { limit: 300, actual: 301 }),
    );
    expect(statusCode).toBe(400);
    expect(body.error).toMatchObject({ code: "InvalidInput", field: "text", limit: 300, actual: 301 });
    expect(body.error.message).toMatch(/^text: /);
  });

  it("hides the text of 5xx and unknown errors", () => {
    expect(toErrorBody(new AppError("db password is hunter2", { statusCode: 500, code: "X" })).body.error.message).toBe(
      "internal error",
    );
    expect(JSON.stringify(toErrorBody(new Error("secret")).body)).not.toMatch(/secret/);
    const upstream = toErrorBody(nlsError({ code: 51020001, upstreamMessage: "token=abc failed" }));
    expect(upstream.statusCode).toBe(502);
    expect(JSON.stringify(upstream.body)).not.toMatch(/abc/);
    expect(upstream.body.error).toMatchObject({ providerCode: "51020001", retryable: true });
  });
});
