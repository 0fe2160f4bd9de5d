import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";

export interface ReceivedHook {
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * A webhook receiver on an ephemeral port that records every delivery; `/moved` answers a redirect to `/hooks`, to show
 * whether a sender follows it.
 */
export function useWebhookSink(): { hooks: ReceivedHook[]; url: (path?: string) => string } {
  const hooks: ReceivedHook[] = [];
  const server = createServer((req, res) => {
    if (req.url?.split("?")[0] === "/moved") return void res.writeHead(302, { location: "/hooks" }).end();
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      hooks.push({ path: req.url ?? "", headers: req.headers, body });
      res.end("ok");
    });
  });
  beforeAll(() => new Promise<void>((r) => server.listen(0, "127.0.0.1", r)));
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  return { hooks, url: (path = "/hooks") => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}` };
}
