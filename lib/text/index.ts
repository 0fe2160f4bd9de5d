export { type ChunkOptions, chunkText } from "./chunk.js";
export {
  codePointCount,
  cosyVoiceWeight,
  countCosyVoiceChars,
  countNlsChars,
  nlsWeight,
  spokenText,
  weigh,
} from "./count.js";
export { looksLikeSsml, tokenizeMarkup } from "./markup.js";
export { assertSpeakableCharacters, speakable } from "./speakable.js";
export { assertValidSsml, breakMs, type SsmlIssue, type SsmlOptions, validateSsml } from "./ssml.js";
export { decodeUtf8, firstInvalidUtf8 } from "./utf8.js";
export { escapeXml } from "./xml.js";
