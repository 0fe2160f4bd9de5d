/**
 * Outputs carry their AI-generated-content label in their container (an MP3's leading ID3v2 tag, a WAV's LIST/INFO
 * chunk): tests that compare audio with the provider's compare what follows the label.
 */
import { id3v2Size } from "../../lib/audio/mp3.js";
import { wavDataChunk } from "../../lib/audio/wav.js";

/** The audio itself: an MP3 after its leading ID3v2 tag, a WAV's data chunk, anything else as it is. */
export function audioAfterLabel(buf: Buffer): Buffer {
  if (buf.subarray(0, 3).toString("latin1") === "ID3") return buf.subarray(id3v2Size(buf));
  if (buf.subarray(0, 4).toString("latin1") === "RIFF") {
    const data = wavDataChunk(buf);
    if (data) return buf.subarray(data.offset);
  }
  return buf;
}
