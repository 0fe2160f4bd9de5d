/**
 * `npm run build`: one esbuild bundle per function in dist/<function>/ (ESM, tree-shaken, Node 20), with the size of
 * each reported against its budget. Built-in-runtime functions get `index.mjs` (handler `index.handler`); the custom
 * runtime (`stream`) gets `main.mjs`, started by s.yaml's `customRuntimeConfig` (`node main.mjs`).
 */
import { existsSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { build, type Plugin } from "esbuild";

/** Bytes per bundle; the build fails over budget (cold start grows with bundle size). */
export const BUNDLE_BUDGET = 4 * 1024 * 1024;

/** Packages that must never reach a deployed bundle (dev-only: emulators, offline speech, test SDKs). */
export const FORBIDDEN = [
  "espeak-ng",
  "@breezystack/lamejs",
  "alibabacloud-nls",
  "openai",
  "vitest",
  "playwright-core",
  "infra/local",
  // The users' OSS client, used by tests as a user would; functions use lib/storage/oss-client.ts (a cold start
  // ~150 ms shorter).
  "ali-oss",
  // Likewise the official POP client: functions sign RPC calls with lib/providers/pop-rpc.ts.
  "@alicloud/pop-core",
  // And the FC 3.0 SDK: lib/fc/invoker.ts signs InvokeFunction itself (the SDK took 210–320 ms to load).
  "@alicloud/fc20230330",
];

/**
 * ws's optional native add-ons (bufferutil, utf-8-validate) as modules that fail at once when required. ws requires
 * each in a try/catch and uses its own JavaScript when that fails; a bundle never ships them, so bundled they only
 * probe the file system for binaries, and left external Node searches every parent directory's node_modules for them
 * first. Measured: the ws chunk loads in about 12 ms this way, 14–20 ms left external.
 */
export const wsWithoutNativeAddons: Plugin = {
  name: "ws-without-native-addons",
  setup(b) {
    b.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (args) => ({ path: args.path, namespace: "absent" }));
    b.onLoad({ filter: /.*/, namespace: "absent" }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not bundled`)}), { code: "MODULE_NOT_FOUND" });`,
      loader: "js",
    }));
  },
};

export interface BuiltFunction {
  readonly name: string;
  readonly file: string;
  /** The entry file alone. */
  readonly bytes: number;
  /** What a cold start loads: the entry and the chunks it imports statically (not those loaded on first use). */
  readonly loadedBytes: number;
  /** The entry plus the chunks loaded on first use. */
  readonly totalBytes: number;
  readonly inputs: readonly string[];
}

export async function buildAll(outdir = "dist"): Promise<BuiltFunction[]> {
  await rm(outdir, { recursive: true, force: true });
  const names = readdirSync("functions").filter(
    (n) => existsSync(`functions/${n}/index.ts`) || existsSync(`functions/${n}/main.ts`),
  );
  const built: BuiltFunction[] = [];
  for (const name of names) {
    const entry = existsSync(`functions/${name}/main.ts`) ? "main" : "index";
    const file = `${outdir}/${name}/${entry}.mjs`;
    const result = await build({
      entryPoints: { [entry]: `functions/${name}/${entry}.ts` },
      outdir: `${outdir}/${name}`,
      outExtension: { ".js": ".mjs" },
      // Dynamic imports (ws) become chunks loaded on first use, out of the cold start of functions that never use them.
      splitting: true,
      chunkNames: "chunks/[name]-[hash]",
      bundle: true,
      platform: "node",
      target: "node20.10",
      format: "esm",
      treeShaking: true,
      minify: true,
      sourcemap: false,
      metafile: true,
      legalComments: "none",
      plugins: [wsWithoutNativeAddons],
      logLevel: "error",
      // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
      banner: {
        js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
      },
    });
    const outputs = Object.values(result.metafile.outputs);
    const main = result.metafile.outputs[file.replace(/^\.\//, "")] ?? outputs.find((o) => o.entryPoint)!;
    const mainPath = Object.keys(result.metafile.outputs).find((k) => result.metafile.outputs[k] === main)!;
    const loaded = new Set<string>();
    const visit = (path: string): void => {
      if (loaded.has(path)) return;
      loaded.add(path);
      for (const i of result.metafile.outputs[path]?.imports ?? []) if (i.kind === "import-statement") visit(i.path);
    };
    visit(mainPath);
    built.push({
      name,
      file,
      bytes: main.bytes,
      loadedBytes: [...loaded].reduce((sum, k) => sum + (result.metafile.outputs[k]?.bytes ?? 0), 0),
      totalBytes: outputs.reduce((s, o) => s + o.bytes, 0),
      inputs: Object.keys(result.metafile.inputs),
    });
  }
  return built;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const built = await buildAll();
  let failed = false;
  for (const f of built) {
    const leaked = FORBIDDEN.filter((p) => f.inputs.some((i) => i.includes(`node_modules/${p}/`) || i.startsWith(p)));
    const over = f.totalBytes > BUNDLE_BUDGET;
    failed ||= over || leaked.length > 0;
    console.log(
      `${f.file.padEnd(28)} ${(f.loadedBytes / 1024).toFixed(0).padStart(6)} KiB loaded at start, ${(f.totalBytes / 1024).toFixed(0).padStart(6)} KiB with chunks;  budget ${(BUNDLE_BUDGET / 1024).toFixed(0)} KiB${over ? "  OVER BUDGET" : ""}${leaked.length ? `  DEV-ONLY CODE: ${leaked.join(", ")}` : ""}`,
    );
  }
  if (failed) process.exit(1);
}
