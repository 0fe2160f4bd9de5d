/** The stream function's Node server: one HTTP server with WebSocket upgrade, as FC's custom runtime runs it. */
import { createServer, type Server } from "node:http";
import { createClients } from "../../lib/clients.js";
import type { Config } from "../../lib/config.js";
import { nodeHandler } from "../../lib/http/node.js";
import type { Logger } from "../../lib/log.js";
import { createStreamApp, type StreamApp, type StreamLimits } from "./app.js";

export function createStreamServer(
  config: Config,
  log: Logger,
  env: Record<string, string | undefined> = process.env,
  limits: StreamLimits = {},
): { server: Server; app: StreamApp } {
  const app = createStreamApp(config, createClients(config, env), log, limits);
  const routed = nodeHandler(app.router);
  // POST /v1/stream, the hot path, is served on node:http directly; everything else goes through the router.
  const server = createServer((req, res) => {
    if (!app.serveStream(req, res)) routed(req, res);
  });
  server.on("upgrade", (req, socket, head) => {
    // A socket error (a reset mid-handshake) must not reach the process as an unhandled 'error' event.
    socket.on("error", (error) => log.debug("upgrade socket error", { error }));
    if (!app.upgrade(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  });
  server.on("close", () => void app.close());
  return { server, app };
}
