/** A client that stops reading a streamed answer is closed after the stall limit, and its source is stopped. */
import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { expect, it } from "vitest";
import { writeChunks } from "../../lib/http/node.js";

it("closes a response whose client reads nothing for the stall limit, and stops its upstream (issue 26, defect 8)", async () => {
  let stopped = 0;
  let produced = 0;
  const closed = new Promise<boolean>((resolve) => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "audio/L16" });
      const chunk = Buffer.alloc(64 * 1024, 1);
      void writeChunks(
        res,
        async () => {
          produced++;
          return { value: chunk, done: false };
        },
        async () => void stopped++,
        new AbortController().signal,
        200,
      ).then(() => {
        resolve(res.destroyed);
        server.close();
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const socket = connect((server.address() as AddressInfo).port, "127.0.0.1", () => {
        socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
        socket.pause(); // reads nothing, for ever
      });
      socket.on("error", () => undefined);
    });
  });
  expect(await closed).toBe(true);
  expect(stopped).toBe(1);
  // It wrote until the socket was full, then stopped producing: it never buffered without bound.
  expect(produced).toBeLessThan(1000);
});
