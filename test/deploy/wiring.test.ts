import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { Fc3PropsSchema } from "../../infra/deploy/fc3-props.js";
import { readResources, readSYaml } from "../../infra/deploy/s-yaml.js";
import { resolveStartCommand } from "../../infra/local/runtimes.js";
import { policyValues, renderPolicy } from "../../infra/ram/render.js";
import { ConfigSchema } from "../../lib/config.js";
import { BUNDLE_BUDGET, type BuiltFunction, buildAll, FORBIDDEN } from "../../scripts/build.js";

const run = promisify(execFile);

/** What a deployer would export before `s deploy` (no real secret: these never leave the test). */
const DEPLOY_ENV = {
  NLS_APPKEY: "appkey",
  OSS_BUCKET: "my-tts-bucket",
  CALLBACK_SECRET: "x".repeat(40),
  TTS_API_KEYS: "key-123456",
  CALLBACK_BASE_URL: "https://tts.example.com",
  // JSON values pass through s's templates as they are (a `{}` in a default did not: s.yaml's defaults are empty).
  PROVIDER_BUDGET: '{"minimax":{"concurrency":20,"interactive":2}}',
  PRICES: '{"currency":"CNY","perTenThousandCharacters":{"nls":2}}',
  TTS_API_KEY_CAPS: '{"*":{"charactersPerDay":100000}}',
};
const resources = readResources(DEPLOY_ENV);
const outdir = mkdtempSync(join(tmpdir(), "dist-"));
let built: BuiltFunction[] = [];

beforeAll(async () => {
  built = await buildAll(outdir);
}, 120_000);

/** The function's environment as FC would give it: s.yaml's variables plus the role's STS triple. */
function fcEnv(name: string): Record<string, string> {
  const vars = resources[name]!.environmentVariables as Record<string, string>;
  return {
    PATH: process.env.PATH ?? "",
    ...vars,
    ALIBABA_CLOUD_ACCESS_KEY_ID: "STS.x",
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: "y",
    ALIBABA_CLOUD_SECURITY_TOKEN: "z",
    FC_ACCOUNT_ID: "1",
    FC_REGION: "cn-shanghai",
  };
}

/** Every .ts file under the given folders. */
function sourceFiles(dirs: readonly string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(dir, f)),
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe("s.yaml against the code", () => {
  it("declares every function folder, and every declared function has a folder", () => {
    const folders = built.map((b) => b.name).sort();
    expect(Object.keys(resources).sort()).toEqual(folders);
  });

  it("validates every resource's props with the fc3 schema the project keeps", () => {
    for (const [name, props] of Object.entries(resources)) {
      const result = Fc3PropsSchema.safeParse(props);
      expect(result.success, `${name}: ${JSON.stringify(result.error?.issues[0])}`).toBe(true);
      expect(props.functionName as string, name).toBe(name);
    }
  });

  it("gives instanceConcurrency only to the custom runtime, and custom runtimes a start command on port 9000", () => {
    for (const [name, props] of Object.entries(resources)) {
      const custom = String(props.runtime).startsWith("custom");
      if (!custom) expect(props.instanceConcurrency, name).toBeUndefined();
      if (custom) expect(props.customRuntimeConfig, name).toMatchObject({ port: 9000 });
    }
  });

  it("starts each custom runtime with a command its image has (Debian 12 has no Node.js)", () => {
    for (const [name, props] of Object.entries(resources)) {
      if (!String(props.runtime).startsWith("custom")) continue;
      const start = resolveStartCommand({
        runtime: String(props.runtime),
        command: (props.customRuntimeConfig as { command?: string[] }).command,
        environment: props.environmentVariables as Record<string, string>,
      });
      expect(start, name).toMatchObject({ ok: true, node: true });
    }
    // The image facts themselves: the old s.yaml (node on custom.debian12) is refused with the reason.
    expect(resolveStartCommand({ runtime: "custom.debian12", command: ["node"], environment: {} })).toMatchObject({
      ok: false,
      code: "FunctionNotStarted",
      reason: expect.stringContaining('"node" is not on the custom.debian12 image'),
    });
    expect(
      resolveStartCommand({
        runtime: "custom.debian10",
        command: ["node"],
        environment: { PATH: "/var/fc/lang/nodejs20/bin:/usr/bin" },
      }),
    ).toMatchObject({ ok: true, executable: "/var/fc/lang/nodejs20/bin/node" });
    expect(resolveStartCommand({ runtime: "custom.debian10", command: ["node"], environment: {} }).ok).toBe(false);
  });

  it("sets, for each function, every environment variable the configuration requires, with no secret written in the file", () => {
    const injectedByFc = new Set(["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"]);
    const required = Object.entries(ConfigSchema.shape)
      .filter(([name, field]) => !injectedByFc.has(name) && !field.safeParse(undefined).success)
      .map(([name]) => name);
    expect(required.sort()).toEqual(["NLS_APPKEY", "OSS_BUCKET"]);
    const needs: Record<string, string[]> = {
      stream: ["TTS_API_KEYS"],
      speech: ["CALLBACK_SECRET", "TTS_API_KEYS"],
      submit: ["CALLBACK_SECRET"],
      callback: ["CALLBACK_SECRET"],
      store: ["CALLBACK_SECRET"],
      reconcile: ["CALLBACK_SECRET"],
    };
    for (const [name, props] of Object.entries(resources)) {
      const env = props.environmentVariables as Record<string, string>;
      for (const v of [...required, ...(needs[name] ?? [])]) expect(env[v], `${name} needs ${v}`).toBeTruthy();
    }
    const raw = readFileSync("s.yaml", "utf8");
    for (const secretName of ["CALLBACK_SECRET", "TTS_API_KEYS", "DASHSCOPE_API_KEY", "NLS_APPKEY"]) {
      expect(raw, secretName).toMatch(new RegExp(`${secretName}: \\$\\{(env|vars)`));
    }
  });

  it("wires each trigger type to the event schema its entry parses", async () => {
    for (const [name, props] of Object.entries(resources)) {
      const { EVENTS } = (await import(`../../functions/${name}/app.ts`)) as {
        EVENTS: { triggers: readonly string[]; schema?: { safeParse(v: unknown): { success: boolean } } };
      };
      const declared = ((props.triggers as Array<{ triggerType: string }> | undefined) ?? []).map((t) => t.triggerType);
      expect([...new Set(declared)].sort(), name).toEqual([...EVENTS.triggers].sort());
      const samples: Record<string, unknown> = {
        http: {
          version: "v1",
          rawPath: "/x",
          body: "",
          isBase64Encoded: false,
          headers: {},
          queryParameters: {},
          requestContext: { requestId: "r", http: { method: "GET", path: "/x" } },
        },
        oss: {
          events: [
            {
              eventName: "ObjectCreated:PutObject",
              eventSource: "acs:oss",
              oss: { bucket: { name: "b" }, object: { key: "input/a.txt", eTag: "E", size: 1 } },
              region: "cn-shanghai",
            },
          ],
        },
        timer: { triggerTime: "2026-01-01T00:00:00Z", triggerName: "t", payload: "reconcile" },
        eventbridge: {
          id: "e-1",
          source: "tts.batch",
          specversion: "1.0",
          type: "tts:Batch:Submitted",
          data: { items: [{ id: "a", text: "hi" }], outputPrefix: "output/b/" },
        },
      };
      for (const type of declared)
        if (EVENTS.schema)
          expect(EVENTS.schema.safeParse(samples[type]).success, `${name} parses a ${type} event`).toBe(true);
    }
  });

  it("never lets an OSS trigger's filter match the output prefix (outputs cannot retrigger the pipeline)", () => {
    const output = (resources.submit!.environmentVariables as Record<string, string>).OSS_OUTPUT_PREFIX!;
    for (const props of Object.values(resources)) {
      for (const t of (props.triggers as
        | Array<{ triggerType: string; triggerConfig: { filter?: { key: { prefix: string } } } }>
        | undefined) ?? []) {
        if (t.triggerType !== "oss") continue;
        const prefix = t.triggerConfig.filter!.key.prefix;
        expect(prefix).not.toBe("");
        expect(output.startsWith(prefix) || prefix.startsWith(output)).toBe(false);
      }
    }
  });

  it("gives store the CPU, memory and disk a book's FFmpeg needs, in the ratio FC allows", () => {
    const store = Fc3PropsSchema.parse(resources.store);
    expect(store).toMatchObject({ cpu: 2, memorySize: 4096, diskSize: 10240 });
    const refused = Fc3PropsSchema.safeParse({ ...(resources.store as object), cpu: 2, memorySize: 1024 });
    expect(refused.success).toBe(false);
    expect(JSON.stringify(refused.error?.issues)).toContain("between 1:1 and 1:4");
    expect(Fc3PropsSchema.safeParse({ ...(resources.store as object), cpu: 0.33 }).success).toBe(false);
    expect(Fc3PropsSchema.safeParse({ ...(resources.store as object), diskSize: 2048 }).success).toBe(false);
  });

  it("gives store explicit async retries, an event age and an onFailure destination the role may invoke", () => {
    const store = Fc3PropsSchema.parse(resources.store);
    expect(store.asyncInvokeConfig).toMatchObject({
      maxAsyncRetryAttempts: 2,
      maxAsyncEventAgeInSeconds: 86400,
      destinationConfig: { onFailure: { destination: expect.stringMatching(/functions\/reconcile$/) } },
    });
    const policy = renderPolicy(policyValues({ OSS_BUCKET: "b-1", ALIBABA_CLOUD_ACCOUNT_ID: "1" })) as {
      Statement: Array<{ Action: string[]; Resource: string[] }>;
    };
    // Every function the code invokes asynchronously, and every async destination in s.yaml, and nothing else.
    const invoked = new Set<string>();
    for (const file of sourceFiles(["lib", "functions"]))
      for (const m of readFileSync(file, "utf8").matchAll(/invokeAsync\(\s*"([a-z-]+)"/g)) invoked.add(m[1]!);
    for (const props of Object.values(resources)) {
      const destination = (props.asyncInvokeConfig as { destinationConfig?: { onFailure?: { destination: string } } })
        ?.destinationConfig?.onFailure?.destination;
      if (destination) invoked.add(destination.split("functions/")[1]!);
    }
    expect(invoked.has("store")).toBe(true);
    const invoke = policy.Statement.find((s) => s.Action.includes("fc:InvokeFunction"))!;
    expect(new Set(invoke.Resource)).toEqual(new Set([...invoked].map((f) => `acs:fc:cn-shanghai:1:functions/${f}`)));
    const actions = policy.Statement.flatMap((s) => s.Action).sort();
    expect(new Set(actions)).toEqual(
      new Set([
        "oss:GetObject",
        "oss:PutObject",
        "oss:AbortMultipartUpload",
        "oss:ListParts",
        "oss:DeleteObject",
        "oss:ListObjects",
        "ice:SubmitAudioProduceJob",
        "ice:GetSmartHandleJob",
        "nls:CreateToken",
        "fc:InvokeFunction",
      ]),
    );
    const input = policy.Statement.find((s) => s.Resource.some((r) => r.includes("/input/")))!;
    expect(input.Action).toEqual(["oss:GetObject"]);
    expect(
      policy.Statement.flatMap((s) => s.Resource)
        .filter((r) => r.startsWith("acs:oss"))
        .every((r) => r.includes(":b-1")),
    ).toBe(true);
  });
});

describe("the bundles", () => {
  it("stay within budget and carry no development-only code", () => {
    for (const f of built) {
      expect(f.totalBytes, f.name).toBeLessThan(BUNDLE_BUDGET);
      for (const p of FORBIDDEN)
        expect(
          f.inputs.some((i) => i.includes(`node_modules/${p}/`) || i.startsWith(p)),
          `${f.name} includes ${p}`,
        ).toBe(false);
    }
  });

  it("load the handler and initializer s.yaml names, with only the deployment's environment", async () => {
    for (const [name, props] of Object.entries(resources)) {
      if (String(props.runtime).startsWith("custom")) continue;
      const [file, method] = String(props.handler).split(".");
      const init = (
        props.instanceLifecycleConfig as { initializer?: { handler: string } } | undefined
      )?.initializer?.handler.split(".")[1];
      const bundle = join(outdir, name, `${file}.mjs`);
      expect(existsSync(bundle), bundle).toBe(true);
      const script = `const m = await import(${JSON.stringify(bundle)}); if (typeof m.${method} !== "function") throw new Error("no ${method}"); ${init ? `await m.${init}();` : ""} console.log("ok");`;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
        env: fcEnv(name),
        cwd: tmpdir(),
      });
      expect(stdout.trim(), name).toBe("ok");
    }
  });

  it("ships the chunks loaded on first use (ws, which speech loads for its first short text), and they load", async () => {
    const speech = built.find((b) => b.name === "speech")!;
    expect(speech.totalBytes).toBeGreaterThan(speech.bytes);
    const dir = join(outdir, "speech", "chunks");
    // Every chunk loads from the deployed layout, and one of them is ws's client (its class has OPEN = 1).
    const script = `import { readdirSync } from "node:fs"; let ws = false; for (const f of readdirSync(${JSON.stringify(dir)})) { const m = await import(${JSON.stringify(dir)} + "/" + f); ws ||= m.default?.OPEN === 1 && typeof m.WebSocketServer === "function"; } console.log(ws ? "ok" : "no ws chunk");`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      env: fcEnv("speech"),
      cwd: tmpdir(),
    });
    expect(stdout.trim()).toBe("ok");
  });

  it("starts the custom runtime's server from its start command and answers on the configured port", async () => {
    const props = Fc3PropsSchema.parse(resources.stream);
    const port = await freePort();
    const entry = join(outdir, "stream", props.customRuntimeConfig!.args![0]!);
    // The image's Node.js binary is this machine's node here.
    const start = resolveStartCommand({
      runtime: props.runtime,
      command: props.customRuntimeConfig!.command,
      environment: props.environmentVariables,
    });
    expect(start).toMatchObject({ ok: true, node: true });
    const child = execFile(process.execPath, [entry], {
      env: { ...fcEnv("stream"), FC_CUSTOM_LISTEN_PORT: String(port) },
      cwd: tmpdir(),
    });
    try {
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = await fetch(`http://127.0.0.1:${port}/healthz`)
          .then((r) => r.ok)
          .catch(() => false);
        if (!ok) await new Promise((r) => setTimeout(r, 50));
      }
      expect(ok).toBe(true);
    } finally {
      child.kill();
    }
  });

  it("refuses to start with a clear message when a required variable is missing", async () => {
    const { TTS_API_KEYS: _k, ...env } = fcEnv("stream");
    const error = await run(process.execPath, [join(outdir, "stream", "main.mjs")], {
      env: { ...env, FC_CUSTOM_LISTEN_PORT: "0" },
      cwd: tmpdir(),
    }).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^invalid configuration:\n {2}- TTS_API_KEYS: missing; expected comma-separated API keys/,
      ),
    });
  });
});

describe("the custom domain (s.domain.yaml)", () => {
  const domain = () => readSYaml({ ...DEPLOY_ENV, TTS_DOMAIN: "tts.example.com" }, "s.domain.yaml").resources.domain!;
  const routes = () => (domain().props.routeConfig as { routes: Array<{ path: string; functionName: string }> }).routes;
  /** Which function a path reaches on the domain: FC matches exact paths, then the longest `/*` prefix. */
  const reach = (path: string): string | undefined => {
    const exact = routes().find((r) => r.path === path);
    if (exact) return exact.functionName;
    return routes()
      .filter((r) => r.path.endsWith("/*") && path.startsWith(r.path.slice(0, -1)))
      .sort((a, b) => b.path.length - a.path.length)[0]?.functionName;
  };

  it("routes every path as the local host does, to functions s.yaml declares", () => {
    expect(domain().component).toBe("fc3-domain");
    expect(domain().props.domainName).toBe("tts.example.com");
    const cases: Array<[string, string]> = [
      ["/", "stream"],
      ["/v1/stream", "stream"],
      ["/ws/v1", "stream"],
      ["/api-ws/v1/inference", "stream"],
      ["/v1/audio/speech", "stream"],
      ["/v1/jobs", "speech"],
      ["/v1/jobs/abc", "speech"],
      ["/v1/speech", "speech"],
      ["/v1/batches/b-1", "speech"],
      ["/callbacks/nls/j/sig", "callback"],
    ];
    for (const [path, fn] of cases) expect(reach(path), path).toBe(fn);
    for (const r of routes()) expect(Object.keys(resources), r.path).toContain(r.functionName);
  });
});

describe("Serverless Devs", () => {
  it("renders s.yaml with `s preview`, offline", async () => {
    const home = mkdtempSync(join(tmpdir(), "s-home-"));
    const { stdout } = await run(process.execPath, ["node_modules/@serverless-devs/s/bin/s", "preview"], {
      env: { ...process.env, ...DEPLOY_ENV, HOME: home },
      timeout: 60_000,
    });
    for (const name of Object.keys(resources)) expect(stdout).toContain(name);
    expect(readSYaml(DEPLOY_ENV).edition).toBe("3.0.0");
  }, 60_000);

  it("renders s.domain.yaml with `s preview`, offline", async () => {
    const home = mkdtempSync(join(tmpdir(), "s-home-"));
    const { stdout } = await run(
      process.execPath,
      ["node_modules/@serverless-devs/s/bin/s", "preview", "-t", "s.domain.yaml"],
      { env: { ...process.env, ...DEPLOY_ENV, TTS_DOMAIN: "tts.example.com", HOME: home }, timeout: 60_000 },
    );
    expect(stdout).toContain("tts.example.com");
  }, 60_000);
});
