/**
 * Sentence-aware chunking to a maximum character count.
 *
 * Cuts fall at sentence ends (。！？.!? and line breaks) where possible, then at clause marks (，；,;、：:), then at
 * spaces, and only as a last resort between two code points; never inside a surrogate pair, an XML entity or an SSML
 * tag. SSML input stays SSML: each chunk is a well-formed document (the enclosing <speak>/<emotion> elements are
 * closed at a cut and reopened in the next chunk), and inline elements such as <sub> or <phoneme> are never split.
 */
import { InputError } from "../errors.js";
import { type CharWeight, nlsWeight, weigh } from "./count.js";
import { looksLikeSsml, type TagToken, tokenizeMarkup } from "./markup.js";

export interface ChunkOptions {
  /** Largest weight of one chunk, in the provider's characters. */
  readonly max: number;
  readonly weight?: CharWeight;
  /**
   * Whether the text is SSML. Left out, it is guessed from the text; a caller who knows (a request's `text` or `ssml`
   * field) says so, so plain text that merely starts with `<speak` is cut as text.
   */
  readonly ssml?: boolean;
}

/** One indivisible piece of text: a code point, or an entity in SSML. */
interface Unit {
  readonly raw: string;
  readonly value: string;
}

interface Piece {
  readonly raw: string;
  readonly weight: number;
  /** Container tag this piece opens or closes; content pieces have none. */
  readonly open?: TagToken;
  readonly close?: boolean;
}

/** The marks that end a sentence wherever they stand; "." ends one only before a space or the text's end. */
export const SENTENCE_END = /[。！？!?\n]/;
const ASCII_PERIOD = ".";
/** The marks that end a clause. */
export const CLAUSE = /[，；,;、：:]/;
const SPACE = /\s/;
/** What may follow a sentence's end and still belong to it: closing quotes and brackets, and spaces. */
export const CLOSERS = /["'”’」』）)\]》〉\s]/;
/** Elements whose content may be cut; everything else is kept whole. */
const CONTAINERS = new Set(["speak", "emotion"]);

export function chunkText(text: string, options: ChunkOptions): string[] {
  const weight = options.weight ?? nlsWeight;
  if (!Number.isInteger(options.max) || options.max < 1)
    throw new RangeError(`max must be a positive integer, got ${options.max}`);
  const pieces =
    (options.ssml ?? looksLikeSsml(text))
      ? ssmlPieces(text, options.max, weight)
      : plainPieces(text, options.max, weight);
  return pack(pieces, options.max);
}

/**
 * A sentence of plain text: up to its end (。！？!? or a line break, or a "." before a space or the text's end) and the
 * closing quotes, brackets and spaces after it; or the text's rest, which has no end.
 */
const SENTENCE = new RegExp(`[\\s\\S]*?(?:${SENTENCE_END.source}|\\.(?=\\s|$))${CLOSERS.source}*|[\\s\\S]+`, "gy");

/**
 * Plain text's pieces: each sentence whole when it fits (found by one regular expression over the string), cut as
 * `textPieces` cuts it when it does not. The same pieces as `textPieces` over the whole text (a property test checks
 * it), without an object per character: a quote of 300,000 characters spent most of its time there.
 */
function plainPieces(text: string, max: number, weight: CharWeight): Piece[] {
  const out: Piece[] = [];
  SENTENCE.lastIndex = 0;
  for (let m = SENTENCE.exec(text); m !== null && m[0].length > 0; m = SENTENCE.exec(text)) {
    const sentence = m[0];
    const w = weigh(sentence, weight);
    if (w <= max) out.push({ raw: sentence, weight: w });
    else out.push(...textPieces(codePoints(sentence), max, weight));
  }
  return out;
}

/** The pieces of plain text as its code points, cut at the strongest boundary: the reference `plainPieces` keeps to. */
export function chunkPlainByCodePoints(text: string, max: number, weight: CharWeight = nlsWeight): string[] {
  return pack(textPieces(codePoints(text), max, weight), max);
}

function codePoints(text: string): Unit[] {
  return Array.from(text, (ch) => ({ raw: ch, value: ch }));
}

function weighUnits(units: readonly Unit[], weight: CharWeight): number {
  let n = 0;
  for (const u of units) n += weigh(u.value, weight);
  return n;
}

/** Splits a run of text units into pieces no heavier than max, preferring the strongest boundary. */
function textPieces(units: readonly Unit[], max: number, weight: CharWeight): Piece[] {
  const toPiece = (us: readonly Unit[]): Piece => ({
    raw: us.map((u) => u.raw).join(""),
    weight: weighUnits(us, weight),
  });
  const out: Piece[] = [];
  const split = (run: readonly Unit[], level: number): void => {
    if (weighUnits(run, weight) <= max) out.push(toPiece(run));
    else if (level > 3) for (const u of run) out.push(toPiece([u]));
    else for (const part of splitAt(run, level)) split(part, level + 1);
  };
  // Sentences are always pieces of their own, so a cut prefers a sentence end even when the run would fit.
  for (const sentence of splitAt(units, 1)) split(sentence, 2);
  return out.filter((p) => p.raw.length > 0);
}

/** Level 1: sentences; 2: clauses; 3: words. Each part keeps its trailing punctuation and closers. */
function splitAt(units: readonly Unit[], level: number): Unit[][] {
  const isBoundary = (i: number): boolean => {
    const v = units[i]!.value;
    if (level === 1)
      return (
        SENTENCE_END.test(v) || (v === ASCII_PERIOD && (i + 1 === units.length || SPACE.test(units[i + 1]!.value)))
      );
    if (level === 2) return CLAUSE.test(v);
    return SPACE.test(v);
  };
  const parts: Unit[][] = [];
  let current: Unit[] = [];
  for (let i = 0; i < units.length; i++) {
    current.push(units[i]!);
    if (!isBoundary(i)) continue;
    while (i + 1 < units.length && CLOSERS.test(units[i + 1]!.value)) current.push(units[++i]!);
    parts.push(current);
    current = [];
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

function ssmlPieces(source: string, max: number, weight: CharWeight): Piece[] {
  const { tokens, issues } = tokenizeMarkup(source);
  if (issues[0]) throw new InputError("ssml", `cannot be chunked: ${issues[0].message} at offset ${issues[0].offset}`);
  const pieces: Piece[] = [];
  let atomicDepth = 0;
  let atomicStart = 0;
  let atomicText = "";
  for (const token of tokens) {
    const raw = source.slice(token.start, token.end);
    if (atomicDepth > 0) {
      if (token.kind === "text") atomicText += token.value;
      if (token.kind === "open") atomicDepth++;
      if (token.kind === "close") atomicDepth--;
      if (atomicDepth === 0) {
        const units = [{ raw: "", value: atomicText }];
        pieces.push({ raw: source.slice(atomicStart, token.end), weight: weighUnits(units, weight) });
      }
      continue;
    }
    if (token.kind === "text") {
      pieces.push(...textPieces(entityUnits(source, token.start, token.end), max, weight));
    } else if (CONTAINERS.has(token.name) && token.kind !== "empty") {
      pieces.push(token.kind === "open" ? { raw, weight: 0, open: token } : { raw, weight: 0, close: true });
    } else if (token.kind === "open") {
      atomicDepth = 1;
      atomicStart = token.start;
      atomicText = "";
    } else {
      pieces.push({ raw, weight: 0 });
    }
  }
  return pieces;
}

/** Code points, with each `&...;` entity kept as one unit so a cut never falls inside it. */
function entityUnits(source: string, start: number, end: number): Unit[] {
  const units: Unit[] = [];
  const text = source.slice(start, end);
  const re = /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);|[\s\S]/gu;
  for (const m of text.matchAll(re)) {
    const raw = m[0];
    const value = m[1]
      ? (({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[m[1]] ?? decodeNumeric(m[1]))
      : raw;
    units.push({ raw, value });
  }
  return units;
}

function decodeNumeric(ref: string): string {
  const code = ref.startsWith("#x") ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
  return String.fromCodePoint(code);
}

/** Greedy packing; container tags seen since the last content piece move with the next chunk (no empty elements). */
function pack(pieces: readonly Piece[], max: number): string[] {
  const chunks: string[] = [];
  const stack: TagToken[] = [];
  const rawOpen = (t: TagToken, all: readonly Piece[]): string => all.find((p) => p.open === t)!.raw;
  let current = "";
  let currentWeight = 0;
  let hasContent = false;
  let pending: Piece[] = [];

  const apply = (p: Piece): void => {
    current += p.raw;
    if (p.open) stack.push(p.open);
    if (p.close) stack.pop();
  };
  for (const piece of pieces) {
    if (piece.open || piece.close) {
      pending.push(piece);
      continue;
    }
    if (piece.weight > max) {
      throw new InputError(
        "text",
        `contains an indivisible part of ${piece.weight} characters, over the chunk limit of ${max}: ${piece.raw.slice(0, 40)}`,
        { limit: max, actual: piece.weight },
      );
    }
    if (hasContent && currentWeight + piece.weight > max) {
      const lastClose = pending.map((p) => Boolean(p.close)).lastIndexOf(true);
      pending.slice(0, lastClose + 1).forEach(apply);
      pending = pending.slice(lastClose + 1);
      chunks.push(
        current +
          [...stack]
            .reverse()
            .map((t) => `</${t.name}>`)
            .join(""),
      );
      current = stack.map((t) => rawOpen(t, pieces)).join("");
      currentWeight = 0;
    }
    pending.forEach(apply);
    pending = [];
    apply(piece);
    currentWeight += piece.weight;
    hasContent = true;
  }
  pending.forEach(apply);
  if (current.length > 0) chunks.push(current);
  return chunks.filter((c) => c.trim().length > 0);
}
