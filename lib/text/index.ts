export { chunkText, type ChunkOptions } from "./chunk.js";
export { countCosyVoiceChars, countNlsChars, cosyVoiceWeight, nlsWeight, spokenText, weigh } from "./count.js";
export { looksLikeSsml, tokenizeMarkup } from "./markup.js";
export { assertValidSsml, breakMs, type SsmlIssue, type SsmlOptions, validateSsml } from "./ssml.js";
export { assertSpeakableCharacters, speakable } from "./speakable.js";
export { decodeUtf8, firstInvalidUtf8 } from "./utf8.js";
export { escapeXml } from "./xml.js";
