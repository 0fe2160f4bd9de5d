import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { openDownload } from "../../lib/net/http-client.js";

async function serve(handler: Parameters<typeof createServer>[1]) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

describe("openDownload (the store step's audio GET)", () => {
  it("streams the body as a Node stream and does not follow a redirect", async () => {
    let hits = 0;
    const s = await serve((req, res) => {
      hits++;
      if (req.url === "/moved") return void res.writeHead(302, { location: "/audio" }).end();
      res.writeHead(200, { "content-length": "5" }).end("audio");
    });
    try {
      const ok = await openDownload(`${s.url}/audio`);
      let body = "";
      for await (const chunk of ok) body += chunk.toString();
      expect([ok.statusCode, ok.headers["content-length"], body]).toEqual([200, "5", "audio"]);
      const moved = await openDownload(`${s.url}/moved`);
      moved.resume();
      expect(moved.statusCode).toBe(302);
      expect(hits).toBe(2);
    } finally {
      s.close();
    }
  });

  it("fails a download that stalls past the idle timeout, not one that keeps moving", async () => {
    const s = await serve((req, res) => {
      res.writeHead(200);
      if (req.url === "/stall") return void res.write("a");
      let n = 0;
      const t = setInterval(() => {
        res.write("x");
        if (++n === 6) {
          clearInterval(t);
          res.end();
        }
      }, 50);
    });
    try {
      const moving = await openDownload(`${s.url}/moving`, { idleTimeoutMs: 150 });
      let bytes = 0;
      for await (const chunk of moving) bytes += chunk.length;
      expect(bytes).toBe(6);
      const stalled = await openDownload(`${s.url}/stall`, { idleTimeoutMs: 150 });
      await expect(
        (async () => {
          for await (const _ of stalled);
        })(),
      ).rejects.toMatchObject({ code: "ETIMEDOUT" });
    } finally {
      s.close();
    }
  });
});
