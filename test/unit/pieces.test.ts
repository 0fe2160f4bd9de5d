/** Text beyond one request, spoken as one stream: pieces in order, the next read ahead within a bound, one WAV header. */
import { describe, expect, it } from "vitest";
import { readWav } from "../../lib/audio/wav.js";
import { finalizeWav, ReadAhead, speakPieces, streamingWavHeader } from "../../lib/speech/pieces.js";

/** A piece whose synthesis yields `chunks` and records how far it was read and whether it was closed. */
function piece(chunks: Buffer[]) {
  const state = { started: false, read: 0, closed: false };
  const start = (_signal: AbortSignal): AsyncIterator<Uint8Array> => {
    state.started = true;
    let i = 0;
    return {
      next: async () => {
        if (i >= chunks.length) return { done: true, value: undefined };
        state.read++;
        return { done: false, value: chunks[i++]! };
      },
      return: async () => {
        state.closed = true;
        return { done: true, value: undefined };
      },
    };
  };
  return { start, state };
}

async function collect(it: AsyncIterator<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) out.push(Buffer.from(r.value));
  return Buffer.concat(out);
}

describe("pieces as one stream", () => {
  it("joins PCM pieces in order, starting the next while the first is relayed", async () => {
    const a = piece([Buffer.alloc(320, 1), Buffer.alloc(320, 1)]);
    const b = piece([Buffer.alloc(640, 2)]);
    const stream = speakPieces("pcm", 16000, [a.start, b.start], new AbortController().signal);
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(b.state.started).toBe(true);
    const rest = await collect(stream);
    expect(Buffer.concat([Buffer.from(first.value!), rest]).length).toBe(1280);
  });

  it("writes one WAV header over every piece's PCM, and the cached copy gets the real sizes", async () => {
    const stream = speakPieces(
      "wav",
      16000,
      [piece([Buffer.alloc(3200, 1)]).start, piece([Buffer.alloc(3200, 1)]).start],
      new AbortController().signal,
    );
    const audio = await collect(stream);
    expect(audio.subarray(0, 4).toString()).toBe("RIFF");
    expect(audio.length).toBe(44 + 6400);
    expect(readWav(finalizeWav(audio))).toMatchObject({ sampleRate: 16000, durationMs: 200 });
    expect(streamingWavHeader(16000).length).toBe(44);
  });
});

describe("read-ahead", () => {
  it("reads ahead only up to its limit, and further as the reader takes", async () => {
    const p = piece(Array.from({ length: 10 }, () => Buffer.alloc(100)));
    const ahead = new ReadAhead(p.start(new AbortController().signal), 250);
    await new Promise((r) => setImmediate(r));
    expect(p.state.read).toBe(3);
    await ahead.next();
    await new Promise((r) => setImmediate(r));
    expect(p.state.read).toBe(4);
    await ahead.return();
    expect(p.state.closed).toBe(true);
    expect((await ahead.next()).done).toBe(true);
  });

  it("hands on a source's failure to the reader", async () => {
    const failing: AsyncIterator<Uint8Array> = { next: async () => Promise.reject(new Error("upstream broke")) };
    await expect(new ReadAhead(failing, 100).next()).rejects.toThrow("upstream broke");
  });
});
