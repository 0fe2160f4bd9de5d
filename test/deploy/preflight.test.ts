import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { deploy } from "../../infra/deploy/deploy.js";
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

  it("lets CALLBACK_BASE_URL be missing (deploy reads it from FC), and checks the custom domain's when it is the one", () => {
    expect(preflight({ ...good, CALLBACK_BASE_URL: undefined })).toEqual([]);
    expect(
      preflight({
        ...good,
        CALLBACK_BASE_URL: undefined,
        TTS_DOMAIN: "10.1.2.3",
        TTS_DOMAIN_PROTOCOL: "HTTP,HTTPS",
      }).join("\n"),
    ).toMatch(/CALLBACK_BASE_URL: must name a host/);
  });
});

describe("npm run deploy, in one pass", () => {
  const record = () => {
    const calls: Array<{ command: string; callback?: string }> = [];
    const lines: string[] = [];
    return {
      calls,
      lines,
      steps: {
        run: async (command: string, args: readonly string[], env: Record<string, string | undefined>) =>
          void calls.push({ command: `${command} ${args.join(" ")}`, callback: env.CALLBACK_BASE_URL }),
        callbackTriggerUrl: async () => "https://callback-abc.cn-shanghai.fcapp.run/",
        log: (l: string) => void lines.push(l),
      },
    };
  };

  it("deploys, reads callback's trigger URL from FC, and deploys again with it when nothing gives it", async () => {
    const r = record();
    await deploy({ ...good, CALLBACK_BASE_URL: undefined }, r.steps);
    expect(r.calls).toEqual([
      { command: "npm run -s build", callback: undefined },
      { command: "s deploy -y", callback: undefined },
      { command: "s deploy -y", callback: "https://callback-abc.cn-shanghai.fcapp.run" },
      { command: "npx tsx infra/deploy/eventbridge.ts up", callback: undefined },
    ]);
    expect(r.lines.join("\n")).toMatch(/set CALLBACK_BASE_URL=https:\/\/callback-abc/);
  });

  it("deploys once with the custom domain's URL on HTTPS, then the domain, then the batch route", async () => {
    const r = record();
    await deploy(
      { ...good, CALLBACK_BASE_URL: undefined, TTS_DOMAIN: "tts.example.com", TTS_DOMAIN_PROTOCOL: "HTTP,HTTPS" },
      r.steps,
    );
    expect(r.calls.map((c) => c.command)).toEqual([
      "npm run -s build",
      "s deploy -y",
      "s deploy -y -t s.domain.yaml",
      "npx tsx infra/deploy/eventbridge.ts up",
    ]);
    expect(r.calls[1]!.callback).toBe("https://tts.example.com");
  });

  it("stops before anything is deployed when preflight finds a problem", async () => {
    const r = record();
    await expect(deploy({ ...good, OSS_BUCKET: undefined }, r.steps)).rejects.toThrow(/OSS_BUCKET: missing/);
    expect(r.calls).toEqual([]);
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

  it("fills the account from ALIBABA_CLOUD_ACCOUNT_ID, the variable the README exports, and says when it is missing", () => {
    const out = run({ OSS_BUCKET: "my-tts-bucket", ALIBABA_CLOUD_ACCOUNT_ID: "1234567890123456" });
    expect(out.stdout).toContain("acs:fc:cn-shanghai:1234567890123456:functions/submit");
    expect(run({ OSS_BUCKET: "my-tts-bucket" }).stderr).toMatch(/ALIBABA_CLOUD_ACCOUNT_ID is not set/);
  });

  it("prints the deploying identity's policy with --deployer: the role it passes, the bus, the bucket", () => {
    const out = spawnSync(process.execPath, ["--import", "tsx", "infra/ram/render.ts", "--deployer"], {
      env: { PATH: process.env.PATH ?? "", OSS_BUCKET: "my-tts-bucket", ALIBABA_CLOUD_ACCOUNT_ID: "1234567890123456" },
      encoding: "utf8",
    });
    expect(out.status).toBe(0);
    const policy = JSON.parse(out.stdout) as { Statement: Array<{ Action: string[]; Resource: string[] }> };
    const actions = policy.Statement.flatMap((s) => s.Action);
    for (const a of ["ram:PassRole", "ram:CreateServiceLinkedRole", "eventbridge:CreateTargets", "log:CreateProject"])
      expect(actions).toContain(a);
    expect(policy.Statement.flatMap((s) => s.Resource)).toContain("acs:ram::1234567890123456:role/fc-tts-pipeline");
    expect(policy.Statement.flatMap((s) => s.Resource).every((r) => !r.includes("${"))).toBe(true);
  });
});
