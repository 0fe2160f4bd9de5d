import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";
import type { StreamApp, StreamLimits } from "../../functions/stream/app.js";
import { createStreamServer } from "../../functions/stream/server.js";
import type { LocalCloud } from "../../infra/local/cloud.js";
import { parseConfig } from "../../lib/config.js";
import { createLogger } from "../../lib/log.js";
import { eventually } from "./local-cloud.js";

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
      undefined,
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

/**
 * Starts a slowed POST /v1/stream with `body`, reads its first chunk, waits until the gateway has `open` connections
 * (the piece under way, and the one read ahead), then leaves as a client does (the request aborted) and waits for
 * every upstream connection to close, within a second.
 */
export async function leaveMidStream(
  url: string,
  cloud: LocalCloud,
  body: Record<string, unknown>,
  open: number,
): Promise<void> {
  const gateway = cloud.nls.gateway;
  gateway.faults.frameDelayMs = 30;
  try {
    const aborter = new AbortController();
    const res = await fetch(`${url}/v1/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: aborter.signal,
    });
    await res.body!.getReader().read();
    await eventually(() => gateway.stats.open >= open, 5000);
    aborter.abort();
    await eventually(() => gateway.stats.open === 0, 1000);
  } finally {
    gateway.faults.frameDelayMs = 0;
  }
}
