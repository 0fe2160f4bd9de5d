/** How the local function host runs this function: its real server, mounted in-process behind the host's router. */
import type { LocalFunction, LocalPlatform } from "../../infra/local/host.js";
import { createStreamServer } from "./server.js";

export function mount(p: LocalPlatform): LocalFunction {
  const { server, app } = createStreamServer(p.config, p.log, p.credentials);
  return {
    // The stream function answers every path nobody more specific claims (it serves the playground at /).
    paths: ["/"],
    request: (req, res) => server.emit("request", req, res),
    upgrade: (req, socket, head) => app.upgrade(req, socket, head),
    close: () => app.close(),
  };
}
