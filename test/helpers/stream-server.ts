import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";
import type { StreamApp, StreamLimits } from "../../functions/stream/app.js";
import { createStreamServer } from "../../functions/stream/server.js";
import type { LocalCloud } from "../../infra/local/cloud.js";
import { parseConfig } from "../../lib/config.js";
import { createLogger } from "../../lib/log.js";

export const API_KEY = "test-key-0123456789";

/** Runs the stream function's real server on an ephemeral port, pointed at the given local cloud. */
export function useStreamServer(
  cloud: () => LocalCloud,
  env: Record<string, string> = {},
  limits: StreamLimits = {},
): () => { url: string; wsUrl: string; app: StreamApp; server: Server; logs: string[] } {
  let state:
    | { url: string; wsUrl: string; app: StreamApp; server: Server; logs: string[]; close: () => Promise<void> }
    | undefined;
  beforeAll(async () => {
    const logs: string[] = [];
    const config = parseConfig({ ...cloud().env(), TTS_API_KEYS: API_KEY, ...env });
    const { server, app } = createStreamServer(
      config,
      createLogger({ level: "debug", write: (l) => logs.push(l) }),
      {},
      limits,
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    state = {
      url: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}`,
      app,
      server,
      logs,
      close: async () => {
        await app.close();
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
      },
    };
  });
  afterAll(async () => state?.close());
  return () => {
    if (!state) throw new Error("stream server not started");
    return state;
  };
}
