/**
 * The AIGC label in the audio's own container, where any tag reader finds it: an ID3v2.4 tag at the start of an MP3
 * (TXXX frames "AIGC" and "AIGC_SYNTHESIS", JSON), a LIST/INFO chunk before a WAV's data (ICMT, JSON). Raw PCM has no
 * container: its label is on the job record and in a sidecar. Writing streams: only the head of the audio is held.
 */
import { type AigcLabel, AigcLabelSchema, type OutputLabel, SynthesisSourceSchema } from "./aigc-label.js";
import { id3v2Size } from "./mp3.js";
import { wavChunks, wavDataChunk } from "./wav.js";

const syncsafe = (n: number): Buffer => Buffer.from([(n >>> 21) & 0x7f, (n >>> 14) & 0x7f, (n >>> 7) & 0x7f, n & 0x7f]);
const unsyncsafe = (b: Uint8Array, at: number): number =>
  ((b[at]! & 0x7f) << 21) | ((b[at + 1]! & 0x7f) << 14) | ((b[at + 2]! & 0x7f) << 7) | (b[at + 3]! & 0x7f);

/** An ID3v2.4 frame: its id, its size (syncsafe), no flags, and `data`. */
export function id3Frame(id: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(id, "latin1"), syncsafe(data.length), Buffer.alloc(2), data]);
}

function txxx(description: string, value: string): Buffer {
  return id3Frame(
    "TXXX",
    Buffer.concat([Buffer.from([3]), Buffer.from(`${description}\0`, "utf8"), Buffer.from(value, "utf8")]),
  );
}

/** An ID3v2.4 tag holding the label, and any further frames (an audiobook's chapters, lib/audio/id3-chapters.ts). */
export function id3Label(label: OutputLabel, extra: Buffer = Buffer.alloc(0)): Buffer {
  const frames = Buffer.concat([
    txxx("AIGC", JSON.stringify(label.aigc)),
    txxx("AIGC_SYNTHESIS", JSON.stringify(label.synthesis)),
    extra,
  ]);
  return Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 4, 0, 0]), syncsafe(frames.length), frames]);
}

/** A RIFF LIST/INFO chunk holding the label as its comment (ICMT). */
export function wavInfoLabel(label: OutputLabel): Buffer {
  // RIFF INFO text has no declared encoding (readers take it as Latin-1): the JSON is kept ASCII, \u-escaped.
  const json = JSON.stringify({ AIGC: label.aigc, synthesis: label.synthesis }).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  const text = Buffer.from(`${json}\0`, "latin1");
  const padded = text.length % 2 ? Buffer.concat([text, Buffer.alloc(1)]) : text;
  const icmt = Buffer.concat([Buffer.from("ICMT"), u32(text.length), padded]);
  const body = Buffer.concat([Buffer.from("INFO"), icmt]);
  return Buffer.concat([Buffer.from("LIST"), u32(body.length), body]);
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** A WAV header (everything before the data chunk's bytes) longer than this is not one we write or accept. */
const MAX_WAV_HEAD = 64 * 1024;

/**
 * `source` with the label in its container. Reads only the head before answering (an MP3's own tag, replaced; a
 * WAV's chunks up to its data), so `addedBytes` (the change in size: the label, less any tag it replaced) is known
 * before the rest is read. PCM passes unchanged.
 */
export async function labelAudio(
  format: "mp3" | "wav" | "pcm",
  source: AsyncIterable<Uint8Array>,
  label: OutputLabel,
  /** More ID3 frames for an MP3's tag (an audiobook's chapters). */
  id3Extra?: Buffer,
): Promise<{ stream: AsyncIterable<Uint8Array>; addedBytes: number }> {
  if (format === "pcm") return { stream: source, addedBytes: 0 };
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  const want = async (n: number): Promise<void> => {
    while (head.length < n && !ended) {
      const step = await it.next();
      if (step.done) ended = true;
      else head = Buffer.concat([head, step.value]);
    }
  };
  const rest = async function* (first: Buffer): AsyncGenerator<Uint8Array> {
    if (first.length > 0) yield first;
    if (ended) return;
    for (let step = await it.next(); !step.done; step = await it.next()) yield step.value;
  };
  // No audio at all stays no audio (never a file of only a label, which would pass for audio by its size).
  await want(1);
  if (head.length === 0) return { stream: rest(head), addedBytes: 0 };
  if (format === "mp3") {
    await want(10);
    // The source's own ID3v2 tag is replaced by ours (its size read from its header; it may span chunks).
    const theirs = head.length >= 10 ? id3v2Size(head) : 0;
    let skip = theirs;
    const tag = id3Label(label, id3Extra);
    const stream = (async function* () {
      yield tag;
      for await (const chunk of rest(head)) {
        if (skip >= chunk.length) {
          skip -= chunk.length;
          continue;
        }
        yield skip > 0 ? chunk.subarray(skip) : chunk;
        skip = 0;
      }
    })();
    return { stream, addedBytes: tag.length - theirs };
  }
  // WAV: the chunks up to the data chunk's header are rebuilt with the label before the data.
  let data: { offset: number } | undefined;
  for (let n = 64; !data; n *= 2) {
    await want(n);
    data = dataHeaderAt(head);
    if (!data && (ended || n > MAX_WAV_HEAD))
      throw new Error(`the WAV audio has no data chunk in its first ${Math.min(head.length, MAX_WAV_HEAD)} bytes`);
  }
  const { header, addedBytes } = wavHeaderWithLabel(head.subarray(0, data.offset), label);
  return { stream: rest(Buffer.concat([header, head.subarray(data.offset)])), addedBytes };
}

/** A WAV header (up to and including the data chunk's 8 bytes, and any data after it) with the label before its data. */
export function labelledWavHeader(header: Buffer, label: OutputLabel): Buffer {
  const data = dataHeaderAt(header);
  if (!data) throw new Error("the WAV header has no data chunk");
  return Buffer.concat([
    wavHeaderWithLabel(header.subarray(0, data.offset), label).header,
    header.subarray(data.offset),
  ]);
}

/**
 * The first audio chunk of a relayed stream (a WebSocket protocol's binary frames) with the label placed: an MP3's tag
 * before it (its own, when whole in the chunk, replaced), a WAV header's INFO chunk before the data. PCM, or a chunk
 * that does not hold a whole WAV header, passes as it is.
 */
export function labelFirstChunk(format: string, chunk: Buffer, label: OutputLabel): Buffer {
  if (format === "mp3") {
    const theirs = chunk.length >= 10 ? id3v2Size(chunk) : 0;
    return Buffer.concat([id3Label(label), theirs <= chunk.length ? chunk.subarray(theirs) : chunk]);
  }
  if (format !== "wav" || chunk.length < 12) return chunk;
  try {
    // The whole header is in the chunk when its data chunk's header is: the label goes before the data.
    return dataHeaderAt(chunk) ? labelledWavHeader(chunk, label) : chunk;
  } catch {
    return chunk;
  }
}

/** Where the data chunk's 8-byte header starts, once the head holds it. */
function dataHeaderAt(buf: Buffer): { offset: number } | undefined {
  if (buf.length < 12) return undefined;
  if (buf.toString("latin1", 0, 4) !== "RIFF" || buf.toString("latin1", 8, 12) !== "WAVE")
    throw new Error("the audio is not a RIFF/WAVE file");
  const data = wavDataChunk(buf);
  return data ? { offset: data.offset - 8 } : undefined;
}

/** The RIFF header and chunks before `data`, any LIST/INFO of the source's dropped, ours added last. */
function wavHeaderWithLabel(before: Buffer, label: OutputLabel): { header: Buffer; addedBytes: number } {
  if (before.length < 12) throw new Error("the audio is not a RIFF/WAVE file");
  const kept: Buffer[] = [];
  let removed = 0;
  for (const { id, offset, size } of wavChunks(before)) {
    const chunk = before.subarray(offset - 8, Math.min(before.length, offset + size + (size % 2)));
    if (id === "LIST" && chunk.toString("latin1", 8, 12) === "INFO") removed += chunk.length;
    else kept.push(chunk);
  }
  const info = wavInfoLabel(label);
  const addedBytes = info.length - removed;
  const riff = before.readUInt32LE(4);
  // A streamed WAV's RIFF size says "unknown" (0xFFFFFFFF, or 0): it stays so.
  const size = riff === 0xffffffff || riff === 0 ? riff : riff + addedBytes;
  return {
    header: Buffer.concat([Buffer.from("RIFF"), u32(size), Buffer.from("WAVE"), ...kept, info]),
    addedBytes,
  };
}

/** The label an MP3 or WAV file carries, read from its first bytes; undefined when it carries none. */
export function readLabel(head: Uint8Array): OutputLabel | undefined {
  const buf = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (buf.toString("latin1", 0, 3) === "ID3") return readId3Label(buf);
  if (buf.toString("latin1", 0, 4) === "RIFF") return readWavLabel(buf);
  return undefined;
}

function readId3Label(buf: Buffer): OutputLabel | undefined {
  const version = buf[3]!;
  const end = Math.min(buf.length, 10 + unsyncsafe(buf, 6));
  const frames = new Map<string, string>();
  for (let at = 10; at + 10 <= end; ) {
    const id = buf.toString("latin1", at, at + 4);
    if (!/^[A-Z0-9]{4}$/.test(id)) break;
    const size = version >= 4 ? unsyncsafe(buf, at + 4) : buf.readUInt32BE(at + 4);
    const data = buf.subarray(at + 10, at + 10 + size);
    if (id === "TXXX" && data[0] === 3) {
      const zero = data.indexOf(0, 1);
      if (zero > 0) frames.set(data.toString("utf8", 1, zero), data.toString("utf8", zero + 1));
    }
    at += 10 + size;
  }
  return parsed(frames.get("AIGC"), frames.get("AIGC_SYNTHESIS"));
}

function readWavLabel(buf: Buffer): OutputLabel | undefined {
  for (const { id, offset, size } of wavChunks(buf)) {
    if (id === "data") return undefined;
    if (id !== "LIST" || buf.toString("latin1", offset, offset + 4) !== "INFO") continue;
    for (let sub = offset + 4; sub + 8 <= Math.min(buf.length, offset + size); ) {
      const subSize = buf.readUInt32LE(sub + 4);
      if (buf.toString("latin1", sub, sub + 4) === "ICMT") {
        const text = buf.toString("utf8", sub + 8, sub + 8 + subSize).replace(/\0+$/, "");
        try {
          const value = JSON.parse(text) as { AIGC?: unknown; synthesis?: unknown };
          return parsed(JSON.stringify(value.AIGC), JSON.stringify(value.synthesis));
        } catch {
          return undefined;
        }
      }
      sub += 8 + subSize + (subSize % 2);
    }
  }
  return undefined;
}

function parsed(aigc: string | undefined, synthesis: string | undefined): OutputLabel | undefined {
  if (aigc === undefined) return undefined;
  try {
    const label: AigcLabel = AigcLabelSchema.parse(JSON.parse(aigc));
    return { aigc: label, synthesis: SynthesisSourceSchema.parse(JSON.parse(synthesis ?? "{}")) };
  } catch {
    return undefined;
  }
}
