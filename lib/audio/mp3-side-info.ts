/**
 * A Layer III frame's side information, the bytes after its header (and CRC) that say where its audio data starts and
 * how long it is. A frame's data may start in earlier frames' bytes (the bit reservoir), so dropping frames from the
 * front of a stream leaves the next frames reading someone else's bytes. Zeroing a frame's side information makes it
 * a frame with no data, silence to any decoder, while its bytes stay in place for the frames after it.
 */

/** MPEG version (3 = MPEG-1), whether a CRC follows the header, and the channel count. */
function layout(frame: Uint8Array): { mpeg1: boolean; crc: boolean; mono: boolean } {
  return {
    mpeg1: ((frame[1]! >> 3) & 0x03) === 3,
    crc: (frame[1]! & 0x01) === 0,
    mono: ((frame[3]! >> 6) & 0x03) === 3,
  };
}

/** Where the side information starts and its size: 17/32 bytes (MPEG-1 mono/stereo), 9/17 (MPEG-2 and 2.5). */
export function sideInfo(frame: Uint8Array): { offset: number; size: number } {
  const { mpeg1, crc, mono } = layout(frame);
  const size = mpeg1 ? (mono ? 17 : 32) : mono ? 9 : 17;
  return { offset: crc ? 6 : 4, size };
}

/** How far back a frame's data may start: main_data_begin is 9 bits in MPEG-1 (511 bytes), 8 in MPEG-2 (255). */
export function reservoirReach(frame: Uint8Array): number {
  return layout(frame).mpeg1 ? 511 : 255;
}

/** The bytes of a frame after its header, CRC and side information: its share of the data stream. */
export function payloadBytes(frame: Uint8Array): number {
  const { offset, size } = sideInfo(frame);
  return Math.max(0, frame.length - offset - size);
}

/** A copy of `frame` that decodes to silence and reads no data; a CRC, if the frame has one, is made anew. */
export function silencedFrame(frame: Uint8Array): Buffer {
  const out = Buffer.from(frame);
  const { offset, size } = sideInfo(out);
  out.fill(0, offset, offset + size);
  if (layout(out).crc) out.writeUInt16BE(crc16([out.subarray(2, 4), out.subarray(offset, offset + size)]), 4);
  return out;
}

/** CRC-16 (polynomial 0x8005, initial 0xFFFF) over the header's last two bytes and the side information, per ISO 11172-3. */
export function crc16(spans: readonly Uint8Array[]): number {
  let crc = 0xffff;
  for (const span of spans)
    for (const byte of span)
      for (let bit = 7; bit >= 0; bit--) {
        const top = ((crc >> 15) ^ (byte >> bit)) & 1;
        crc = (crc << 1) & 0xffff;
        if (top) crc ^= 0x8005;
      }
  return crc;
}
