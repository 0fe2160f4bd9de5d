import { describe, expect, it } from "vitest";
import { ConfigSchema, nlsEndpoints, parseConfig, SECRET_NAMES } from "../../lib/config.js";
import { ConfigError } from "../../lib/errors.js";
import { scrubSecrets } from "../../lib/secrets.js";

const valid = {
  ALIBABA_CLOUD_ACCESS_KEY_ID: "AK",
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: "SK",
  NLS_APPKEY: "app",
  OSS_BUCKET: "tts-bucket",
};

describe("parseConfig", () => {
  it("applies defaults to a minimal environment", () => {
    const cfg = parseConfig(valid);
    expect(cfg).toMatchObject({
      REGION: "cn-shanghai",
      NLS_NETWORK: "public",
      OSS_INPUT_PREFIX: "input/",
      OSS_OUTPUT_PREFIX: "output/",
      OSS_PATH_STYLE: false,
    });
  });

  it("names every missing variable and what it expects", () => {
    try {
      parseConfig({ OSS_BUCKET: "tts-bucket" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toMatch(/NLS_APPKEY: missing; expected the AppKey of the NLS project/);
      expect(message).toMatch(/ALIBABA_CLOUD_ACCESS_KEY_ID: missing/);
    }
  });

  it("takes browser origins for CORS, and refuses an origin with a path, naming the variable", () => {
    expect(
      parseConfig({ ...valid, TTS_CORS_ORIGINS: "https://a.example, http://localhost:5173" }).TTS_CORS_ORIGINS,
    ).toEqual(["https://a.example", "http://localhost:5173"]);
    expect(parseConfig(valid).TTS_CORS_ORIGINS).toEqual([]);
    expect(() => parseConfig({ ...valid, TTS_CORS_ORIGINS: "https://a.example/app" })).toThrow(
      /TTS_CORS_ORIGINS: invalid; expected comma-separated origins/,
    );
  });

  it("names an invalid variable", () => {
    expect(() => parseConfig({ ...valid, OSS_BUCKET: "Bad_Bucket" })).toThrow(
      /OSS_BUCKET: invalid; expected an OSS bucket name/,
    );
    expect(() => parseConfig({ ...valid, OSS_OUTPUT_PREFIX: "/out" })).toThrow(/OSS_OUTPUT_PREFIX: invalid/);
    expect(() => parseConfig({ ...valid, NLS_GATEWAY_URL: "nls.example" })).toThrow(/NLS_GATEWAY_URL: invalid/);
  });

  it("treats an empty variable as unset, as s.yaml renders an optional secret", () => {
    const cfg = parseConfig({ ...valid, DASHSCOPE_API_KEY: "", NLS_GATEWAY_URL: "" });
    expect(cfg.DASHSCOPE_API_KEY).toBeUndefined();
    expect(cfg.NLS_GATEWAY_URL).toBeUndefined();
    expect(() => parseConfig({ ...valid, NLS_APPKEY: "" })).toThrow(/NLS_APPKEY: missing/);
  });

  it("refuses overlapping prefixes, so outputs can never retrigger the input pipeline", () => {
    expect(() => parseConfig({ ...valid, OSS_INPUT_PREFIX: "books/", OSS_OUTPUT_PREFIX: "books/audio/" })).toThrow(
      /OSS_INPUT_PREFIX and OSS_OUTPUT_PREFIX: invalid/,
    );
  });

  it("never echoes a secret value in its message", () => {
    expect(() => parseConfig({ ...valid, ALIBABA_CLOUD_ACCESS_KEY_SECRET: "", NLS_APPKEY: "" })).toThrow(ConfigError);
    try {
      parseConfig({ ...valid, OSS_BUCKET: "SECRET-LOOKING_value" });
    } catch (error) {
      expect((error as Error).message).not.toMatch(/SECRET-LOOKING_value/);
    }
  });
});

describe("nlsEndpoints", () => {
  it("chooses the regional public or internal gateway, or the override", () => {
    const base = parseConfig(valid);
    expect(nlsEndpoints(base)).toEqual({
      gateway: "wss://nls-gateway-cn-shanghai.aliyuncs.com/ws/v1",
      meta: "https://nls-meta.cn-shanghai.aliyuncs.com",
      longText: "https://nls-gateway-cn-shanghai.aliyuncs.com/rest/v1/tts/async",
    });
    expect(nlsEndpoints({ ...base, NLS_NETWORK: "internal" }).gateway).toBe(
      "ws://nls-gateway-cn-shanghai-internal.aliyuncs.com:80/ws/v1",
    );
    expect(nlsEndpoints({ ...base, NLS_GATEWAY_URL: "ws://127.0.0.1:1/ws/v1" }).gateway).toBe("ws://127.0.0.1:1/ws/v1");
  });
});

describe("the configuration's secrets", () => {
  it("marks every variable named like a secret, so a new one cannot miss redaction", () => {
    const named = Object.keys(ConfigSchema.shape).filter((n) => /SECRET|TOKEN|PASSWORD|API_KEY|AUTH_KEY/.test(n));
    expect(named.length).toBeGreaterThan(5);
    expect([...SECRET_NAMES].sort()).toEqual(named.sort());
  });

  it("registers each secret's value (every key of a list) for redaction when parsed", () => {
    parseConfig({
      ...valid,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: "sk-value-0123456789",
      DASHSCOPE_API_KEY: "sk-dashscope-0123456789",
      TTS_API_KEYS: "first-key-0123,second-key-4567",
      CALLBACK_SECRET: `${"c".repeat(20)}callback-secret-0123`,
    });
    const line = scrubSecrets(
      "sk-value-0123456789 sk-dashscope-0123456789 first-key-0123 second-key-4567 ccccccccccccccccccccccallback-secret-0123",
    );
    expect(line).not.toMatch(/sk-value|sk-dashscope|first-key|second-key|callback-secret/);
  });

  it("registers every key TTS_API_KEY_CAPS names (not '*') for redaction, and refuses a bad cap naming it", () => {
    const cfg = parseConfig({
      ...valid,
      TTS_API_KEY_CAPS: JSON.stringify({ "*": { charactersPerDay: 10 }, "capped-key-98765": { moneyPerMonth: 5 } }),
    });
    expect(cfg.TTS_API_KEY_CAPS["*"]).toEqual({ charactersPerDay: 10 });
    expect(scrubSecrets("capped-key-98765 *")).toBe("[redacted] *");
    expect(() => parseConfig({ ...valid, TTS_API_KEY_CAPS: '{"k":{"charactersPerDay":0}}' })).toThrow(
      /TTS_API_KEY_CAPS\.k\.charactersPerDay: invalid; expected more than 0/,
    );
    expect(() => parseConfig({ ...valid, PROVIDER_BUDGET: "{not json" })).toThrow(
      /PROVIDER_BUDGET: invalid; expected a JSON/,
    );
  });

  it("parses the README's PROVIDER_BUDGET example", async () => {
    const readme = (await import("node:fs")).readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const example = /export PROVIDER_BUDGET='([^']+)'/.exec(readme)![1]!;
    expect(parseConfig({ ...valid, PROVIDER_BUDGET: example }).PROVIDER_BUDGET).toEqual({
      minimax: { concurrency: 20, perSecond: 10, interactive: 2, interactivePerSecond: 2 },
      "nls-long-text": { perSecond: 3, interactive: 0, interactivePerSecond: 0 },
    });
  });
});

describe("STREAM_MAX_CHARS, by provider", () => {
  it("defaults to 4,096 on NLS and MiniMax and to a CosyVoice task's 200,000", () => {
    expect(parseConfig(valid).STREAM_MAX_CHARS).toEqual({ nls: 4096, cosyvoice: 200_000, minimax: 4096 });
  });
  it("takes one number for every provider, or name=number pairs (4,096 for a provider not named)", () => {
    expect(parseConfig({ ...valid, STREAM_MAX_CHARS: "2000" }).STREAM_MAX_CHARS).toEqual({
      nls: 2000,
      cosyvoice: 2000,
      minimax: 2000,
    });
    expect(parseConfig({ ...valid, STREAM_MAX_CHARS: "nls=8000, cosyvoice=50000" }).STREAM_MAX_CHARS).toEqual({
      nls: 8000,
      cosyvoice: 50_000,
      minimax: 4096,
    });
  });
  it("refuses a provider it does not know, or a number that is not whole, naming the variable", () => {
    for (const bad of ["ice=100", "nls=0", "nls=4.5", "lots"])
      expect(() => parseConfig({ ...valid, STREAM_MAX_CHARS: bad })).toThrow(/STREAM_MAX_CHARS/);
  });
});
