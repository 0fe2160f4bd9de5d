import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { preflight } from "../../infra/deploy/preflight.js";

const good = {
  REGION: "cn-shanghai",
  NLS_APPKEY: "appkey0123",
  OSS_BUCKET: "my-tts-bucket",
  TTS_API_KEYS: "0123456789abcdef0123,fedcba9876543210fedc",
  CALLBACK_SECRET: "s".repeat(48),
  CALLBACK_BASE_URL: "https://callback-tts.example.com",
  ALIBABA_CLOUD_ACCOUNT_ID: "1234567890123456",
  ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAI5texample",
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: "secret-example",
};

describe("preflight before deploy", () => {
  it("passes a complete environment", () => {
    expect(preflight(good)).toEqual([]);
  });

  it("reports every problem at once, each naming its variable and what it expects", () => {
    const problems = preflight({
      ...good,
      OSS_BUCKET: "Bad_Bucket",
      TTS_API_KEYS: "short1",
      CALLBACK_SECRET: "abc",
      CALLBACK_BASE_URL: "http://10.0.0.1",
      ALIBABA_CLOUD_ACCOUNT_ID: undefined,
      LOG_LEVEL: "loud",
      REGION: "shanghai",
    });
    const names = problems.map((p) => p.split(":")[0]);
    expect(names).toEqual(
      expect.arrayContaining([
        "OSS_BUCKET",
        "TTS_API_KEYS",
        "CALLBACK_SECRET",
        "CALLBACK_BASE_URL",
        "ALIBABA_CLOUD_ACCOUNT_ID",
        "LOG_LEVEL",
        "REGION",
      ]),
    );
    expect(problems.find((p) => p.startsWith("CALLBACK_SECRET"))).toMatch(
      /speech, submit, callback, store, reconcile; expected at least 32/,
    );
    expect(problems.filter((p) => p.startsWith("CALLBACK_BASE_URL"))).toHaveLength(2); // http, and an IP
    expect(new Set(problems).size).toBe(problems.length);
  });

  it("refuses a callback URL that is missing, since jobs would then be found only by polling", () => {
    expect(preflight({ ...good, CALLBACK_BASE_URL: undefined }).join("\n")).toMatch(/CALLBACK_BASE_URL: missing/);
  });
});

describe("npm run -s ram:policy", () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ["--import", "tsx", "infra/ram/render.ts"], {
      env: { PATH: process.env.PATH ?? "", ...env },
      encoding: "utf8",
    });

  it("fails without OSS_BUCKET instead of printing a policy for every bucket", () => {
    const out = run({});
    expect(out.status).toBe(1);
    expect(out.stdout).toBe("");
    expect(out.stderr).toMatch(/OSS_BUCKET is needed/);
  });

  it("prints the policy for the bucket it is given", () => {
    const out = run({ OSS_BUCKET: "my-tts-bucket" });
    expect(out.status).toBe(0);
    expect(out.stdout).toContain("acs:oss:*:*:my-tts-bucket/input/*");
  });
});
