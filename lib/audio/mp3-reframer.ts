/** MP3 as whole frames, whatever the chunks it arrives in. */
import { frameAt, id3v2Size } from "./mp3.js";

/**
 * An MP3 byte stream cut into whole frames as it arrives, holding only an incomplete frame between chunks: a leading
 * ID3v2 tag and a VBR header frame are dropped, garbage between frames is skipped, and `ms` is the length of the
 * frames passed so far.
 */
export class Mp3Reframer {
  #buf: Buffer = Buffer.alloc(0);
  #started = false;
  #first = true;
  ms = 0;

  /** The whole frames completed by `chunk`, or undefined when none is. */
  push(chunk: Uint8Array): Buffer | undefined {
    let buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : Buffer.from(chunk);
    if (!this.#started) {
      const tag = buf.length < 10 ? -1 : id3v2Size(buf);
      if (tag === -1 || buf.length < tag) {
        this.#buf = buf;
        return undefined;
      }
      buf = buf.subarray(tag);
      this.#started = true;
    }
    let offset = 0;
    const out: Buffer[] = [];
    for (;;) {
      const frame = frameAt(buf, offset);
      if (!frame) {
        // Not at a frame: resynchronise on the next sync word (garbage between frames is dropped).
        const next = buf.indexOf(0xff, offset + 1);
        if (next === -1 || buf.length - offset < 4) break;
        offset = next;
        continue;
      }
      if (offset + frame.length > buf.length) break;
      const bytes = buf.subarray(offset, offset + frame.length);
      if (!(this.#first && isVbrHeader(bytes))) {
        out.push(bytes);
        this.ms += (frame.samples / frame.sampleRate) * 1000;
      }
      this.#first = false;
      offset += frame.length;
    }
    this.#buf = buf.subarray(offset);
    return out.length ? Buffer.concat(out) : undefined;
  }
}

/** A Xing/Info (LAME) or VBRI header frame carries no audio and describes only its own file. */
function isVbrHeader(frame: Uint8Array): boolean {
  const text = Buffer.from(frame.subarray(0, Math.min(frame.length, 64))).toString("latin1");
  return text.includes("Xing") || text.includes("Info") || text.includes("VBRI");
}
