import { InputError } from "../errors.js";

/**
 * Strict UTF-8 decoding for text that arrives as bytes (OSS objects, request bodies).
 * The seeds accept UTF-8 only; a bad file is refused with the byte offset of its first bad sequence,
 * so a user can find it, instead of being synthesized with U+FFFD noise.
 */
export function decodeUtf8(bytes: Uint8Array, field = "text"): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe)
    throw new InputError(field, "is UTF-16LE (byte order mark FF FE); only UTF-8 is accepted", {
      code: "InvalidEncoding",
    });
  if (bytes[0] === 0xfe && bytes[1] === 0xff)
    throw new InputError(field, "is UTF-16BE (byte order mark FE FF); only UTF-8 is accepted", {
      code: "InvalidEncoding",
    });
  const bad = firstInvalidUtf8(bytes);
  if (bad !== -1) {
    throw new InputError(
      field,
      `is not valid UTF-8: bad byte 0x${bytes[bad]!.toString(16).padStart(2, "0")} at byte offset ${bad}${gbkHint(bytes)}`,
      { actual: bad, code: "InvalidEncoding" },
    );
  }
  const hasBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return new TextDecoder("utf-8", { fatal: true }).decode(hasBom ? bytes.subarray(3) : bytes);
}

/**
 * A hint for Chinese text saved in GBK (GB 18030), the usual reason a Chinese file is not UTF-8: said when the bytes
 * read as GBK and hold Han characters. Only on the error path; a runtime without GBK decoding gives no hint.
 */
function gbkHint(bytes: Uint8Array): string {
  try {
    const text = new TextDecoder("gbk", { fatal: true }).decode(bytes.subarray(0, 64 * 1024));
    if (/\p{Script=Han}/u.test(text))
      return "; it reads as GBK (GB 18030): save it as UTF-8 (e.g. iconv -f GBK -t UTF-8 in.txt > out.txt)";
  } catch {
    // Not GBK either, or no GBK decoder here.
  }
  return "";
}

/** Byte offset of the first byte that starts an invalid UTF-8 sequence, or -1 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c === 0xe0) [need, lo] = [2, 0xa0];
    else if (c === 0xed) [need, hi] = [2, 0x9f];
    else if (c >= 0xe1 && c <= 0xef) need = 2;
    else if (c === 0xf0) [need, lo] = [3, 0x90];
    else if (c === 0xf4) [need, hi] = [3, 0x8f];
    else if (c >= 0xf1 && c <= 0xf3) need = 3;
    else return i;
    if (i + need >= b.length) return i; // truncated sequence at the end
    const second = b[i + 1];
    if (second === undefined || second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const cont = b[i + k];
      if (cont === undefined || cont < 0x80 || cont > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}
