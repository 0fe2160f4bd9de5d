/** The stream function's Node server: one HTTP server with WebSocket upgrade, as FC's custom runtime runs it. */
import { createServer, type Server } from "node:http";
import { createClients, credentialsOf } from "../../lib/clients.js";
import type { Config } from "../../lib/config.js";
import { RoleCredentials } from "../../lib/credentials.js";
import { nodeHandler } from "../../lib/http/node.js";
import type { Logger } from "../../lib/log.js";
import { takeRequestCredentials } from "../_fc/context.js";
import { createStreamApp, type StreamApp, type StreamLimits } from "./app.js";

/**
 * The server FC's custom runtime runs. FC hands the role's current credentials with every request (headers): they are
 * taken for the clients and removed before anything else sees the request.
 */
export function createStreamServer(
  config: Config,
  log: Logger,
  role: RoleCredentials = new RoleCredentials(credentialsOf(config)),
  limits: StreamLimits = {},
): { server: Server; app: StreamApp } {
  const app = createStreamApp(config, createClients(config, role.current), log, limits);
  const routed = nodeHandler(app.router);
  // POST /v1/stream, the hot path, is served on node:http directly; everything else goes through the router.
  const server = createServer((req, res) => {
    role.receive(takeRequestCredentials(req));
    if (!app.serveStream(req, res)) routed(req, res);
  });
  server.on("upgrade", (req, socket, head) => {
    role.receive(takeRequestCredentials(req));
    // A socket error (a reset mid-handshake) must not reach the process as an unhandled 'error' event.
    socket.on("error", (error) => log.debug("upgrade socket error", { error }));
    if (!app.upgrade(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  });
  server.on("close", () => void app.close());
  return { server, app };
}
