/** RIFF/WAVE reading: format and data chunk located by walking the chunks, not by assuming a 44-byte header. */

export interface WavInfo {
  readonly channels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  readonly dataOffset: number;
  readonly dataLength: number;
  readonly durationMs: number;
}

/** The chunks after the RIFF/WAVE header: id, where its body starts, and its declared size (may exceed the buffer). */
export function* wavChunks(buf: Uint8Array): Generator<{ id: string; offset: number; size: number }> {
  if (buf.length < 12) return;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (at: number): string => String.fromCharCode(buf[at]!, buf[at + 1]!, buf[at + 2]!, buf[at + 3]!);
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") return;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const size = view.getUint32(offset + 4, true);
    yield { id: tag(offset), offset: offset + 8, size };
    offset += 8 + size + (size % 2);
  }
}

/** The data chunk's start and declared size, from as much of the file's beginning as is at hand. */
export function wavDataChunk(buf: Uint8Array): { offset: number; size: number } | undefined {
  for (const chunk of wavChunks(buf)) if (chunk.id === "data") return { offset: chunk.offset, size: chunk.size };
  return undefined;
}

export function readWav(buf: Uint8Array): WavInfo | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let fmt: { channels: number; sampleRate: number; bitsPerSample: number } | undefined;
  for (const { id, offset, size } of wavChunks(buf)) {
    if (id === "fmt ")
      fmt = {
        channels: view.getUint16(offset + 2, true),
        sampleRate: view.getUint32(offset + 4, true),
        bitsPerSample: view.getUint16(offset + 14, true),
      };
    if (id === "data" && fmt) {
      const dataLength = Math.min(size, buf.length - offset);
      const bytesPerSecond = fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8);
      return { ...fmt, dataOffset: offset, dataLength, durationMs: (dataLength / bytesPerSecond) * 1000 };
    }
  }
  return undefined;
}

/** Duration of raw 16-bit mono PCM. */
export function pcmDurationMs(bytes: number, sampleRate: number): number {
  return (bytes / 2 / sampleRate) * 1000;
}

/** A 44-byte header for 16-bit mono PCM of `dataBytes` bytes. */
export function wavHeader(dataBytes: number, sampleRate: number): Buffer {
  const h = Buffer.alloc(44);
  h.write("RIFF", 0);
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write("WAVEfmt ", 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36);
  h.writeUInt32LE(dataBytes, 40);
  return h;
}
