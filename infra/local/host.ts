/**
 * The local function host: reads s.yaml, mounts each function's real server in-process and routes HTTP and
 * WebSocket upgrades to it by path, on one port (9000 for `npm start`, ephemeral in tests).
 */
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { parseConfig } from "../../lib/config.js";
import type { Logger } from "../../lib/log.js";
import { listen } from "./http-util.js";

export interface LocalFunction {
  /** Path prefixes the function serves; the longest match wins. */
  readonly paths: readonly string[];
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): Promise<void>;
}

interface FunctionModule {
  mount(config: ReturnType<typeof parseConfig>, log: Logger, env: Record<string, string | undefined>): LocalFunction;
}

const root = new URL("../../", import.meta.url);

/** The fc3 resources of s.yaml: name, function name, runtime and the trigger types. */
export function readFunctions(file = fileURLToPath(new URL("s.yaml", root))): Array<{ resource: string; functionName: string; runtime: string; triggers: string[] }> {
  const doc = parse(readFileSync(file, "utf8")) as { resources?: Record<string, { component?: string; props?: Record<string, unknown> }> };
  return Object.entries(doc.resources ?? {})
    .filter(([, r]) => r.component === "fc3")
    .map(([resource, r]) => ({
      resource,
      functionName: String(r.props?.functionName ?? resource),
      runtime: String(r.props?.runtime ?? ""),
      triggers: ((r.props?.triggers as Array<{ triggerType?: string }> | undefined) ?? []).map((t) => String(t.triggerType)),
    }));
}

export async function startFunctionHost(opts: { env: Record<string, string>; log: Logger; port?: number }): Promise<{ url: string; port: number; functions: string[]; stop(): Promise<void> }> {
  const config = parseConfig(opts.env);
  const mounted: Array<{ name: string; fn: LocalFunction }> = [];
  for (const f of readFunctions()) {
    const entry = new URL(`functions/${f.resource}/local.ts`, root);
    if (!existsSync(entry)) throw new Error(`s.yaml declares ${f.resource}, but functions/${f.resource}/local.ts does not exist`);
    const mod = (await import(entry.href)) as FunctionModule;
    mounted.push({ name: f.resource, fn: mod.mount(config, opts.log.child({ function: f.functionName }), opts.env) });
  }
  const route = (url: string | undefined): LocalFunction | undefined => {
    const path = new URL(url ?? "/", "http://local").pathname;
    let best: { fn: LocalFunction; length: number } | undefined;
    for (const { fn } of mounted) for (const p of fn.paths) if (path.startsWith(p) && p.length > (best?.length ?? -1)) best = { fn, length: p.length };
    return best?.fn;
  };
  const server = await listen((req, res) => {
    const fn = route(req.url);
    if (fn) fn.request(req, res);
    else res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"NotFound","message":"no function serves this path"}}');
  }, opts.port ?? 0);
  server.server.on("upgrade", (req, socket, head) => {
    if (!route(req.url)?.upgrade?.(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    functions: mounted.map((m) => m.name),
    async stop() {
      await Promise.all(mounted.map(({ fn }) => fn.close()));
      await server.close();
    },
  };
}
