/**
 * MPEG audio frame walking: duration measured from the frames themselves (not estimated from the bitrate),
 * skipping an ID3v2 tag. Used to check audio and, later, to stitch parts frame-accurately.
 */

export interface Mp3Frame {
  readonly offset: number;
  readonly length: number;
  readonly sampleRate: number;
  readonly samples: number;
}

const BITRATES: Record<string, readonly number[]> = {
  // kbit/s by index, Layer III
  v1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, readonly number[]> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};

/** Size of a leading ID3v2 tag (0 if none). */
export function id3v2Size(buf: Uint8Array): number {
  if (buf.length < 10 || buf[0] !== 0x49 || buf[1] !== 0x44 || buf[2] !== 0x33) return 0;
  const size = ((buf[6]! & 0x7f) << 21) | ((buf[7]! & 0x7f) << 14) | ((buf[8]! & 0x7f) << 7) | (buf[9]! & 0x7f);
  return 10 + size + (buf[5]! & 0x10 ? 10 : 0);
}

/** Parses the Layer III frame header at `offset`, or undefined if there is none. */
export function frameAt(buf: Uint8Array, offset: number): Mp3Frame | undefined {
  if (offset + 4 > buf.length) return undefined;
  const b1 = buf[offset + 1]!;
  const b2 = buf[offset + 2]!;
  if (buf[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const version = (b1 >> 3) & 0x03; // 3 = MPEG1, 2 = MPEG2, 0 = MPEG2.5
  const layer = (b1 >> 1) & 0x03; // 1 = Layer III
  if (version === 1 || layer !== 1) return undefined;
  const bitrate = (version === 3 ? BITRATES.v1! : BITRATES.v2!)[(b2 >> 4) & 0x0f];
  const sampleRate = SAMPLE_RATES[version]![(b2 >> 2) & 0x03];
  if (!bitrate || !sampleRate) return undefined;
  const padding = (b2 >> 1) & 0x01;
  const samples = version === 3 ? 1152 : 576;
  const length = Math.floor(((samples / 8) * bitrate * 1000) / sampleRate) + padding;
  return { offset, length, sampleRate, samples };
}

/** Walks every frame back to back; stops at the first byte that is not a frame (trailing tags, garbage). */
export function mp3Frames(buf: Uint8Array): Mp3Frame[] {
  const frames: Mp3Frame[] = [];
  let offset = id3v2Size(buf);
  for (;;) {
    const frame = frameAt(buf, offset);
    if (!frame || offset + frame.length > buf.length) break;
    frames.push(frame);
    offset += frame.length;
  }
  return frames;
}

export function mp3DurationMs(buf: Uint8Array): number {
  const frames = mp3Frames(buf);
  return frames.reduce((ms, f) => ms + (f.samples / f.sampleRate) * 1000, 0);
}
