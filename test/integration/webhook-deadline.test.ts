/** A webhook receiver that trickles its answer meets a deadline, and its failure is recorded (issue 26, defect 9). */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchWebhooks } from "../../lib/batches/webhook.js";
import { createLogger } from "../../lib/log.js";

let server: Server;
let url = "";
const sockets = new Set<Socket>();
let requests = 0;
beforeAll(async () => {
  // The status line, one byte every 20 ms, for ever: no idle timeout ever fires.
  server = createServer((_req, res) => {
    requests++;
    const socket = res.socket!;
    const line = "HTTP/1.1 200 OK\r\n";
    let i = 0;
    const tick = setInterval(() => {
      if (socket.destroyed) return clearInterval(tick);
      socket.write(line[i++ % line.length]!);
    }, 20);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

describe("batch webhooks", () => {
  it("give up on a receiver that trickles its answer, each attempt within its deadline, and say why", async () => {
    const hooks = new BatchWebhooks({
      secret: "s".repeat(40),
      log: createLogger({ level: "error", write: () => undefined }),
      allow: () => true,
      attemptDeadlineMs: 150,
    });
    const outcome = await hooks.send(url, "b1:final", { state: "done" });
    expect(outcome.error).toMatch(/did not finish answering within 150 ms/);
    expect(outcome.status).toBeUndefined();
    expect(requests).toBe(3);
  });
});
