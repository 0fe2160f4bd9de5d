/**
 * SSML validation for the tag set of seed 001 (CosyVoice) plus NLS's <emotion> (seeds 000/003), so a bad document
 * is refused before any upstream connection, with the position of every problem.
 *
 * Ranges are the seed's property tables: speak rate/pitch 0.5-2, volume 0-100, effect enum and effectValue format;
 * break 1-10 s or 50-10000 ms and at most 10 s in a row; sub alias; phoneme py|cmu with one pinyin syllable (tone 1-5)
 * per character; soundEvent src; say-as interpret-as values; no nested <speak>.
 */
import { InputError } from "../errors.js";
import { lineColumns, type MarkupIssue, type TagToken, tokenizeMarkup } from "./markup.js";

export interface SsmlIssue {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface SsmlOptions {
  /** cosyvoice: seed 001's tags; nls: the same plus <emotion>, only for multi-emotion voices. */
  readonly flavor: "cosyvoice" | "nls";
  /** Emotions the chosen voice supports; <emotion> is refused when absent. */
  readonly emotions?: readonly string[];
  /** Output sample rate, bounding lpfilter/hpfilter effectValue. */
  readonly sampleRate?: number;
}

const INTERPRET_AS = [
  "cardinal",
  "digits",
  "telephone",
  "name",
  "address",
  "id",
  "characters",
  "punctuation",
  "date",
  "time",
  "currency",
  "measure",
];
const EFFECTS = ["robot", "lolita", "lowpass", "echo", "eq", "lpfilter", "hpfilter"];
const MAX_BREAK_RUN_MS = 10_000;

/** Which elements may appear directly inside which (seed 001, "Tag relationships"). */
const CHILDREN: Readonly<Record<string, readonly string[]>> = {
  speak: ["break", "sub", "phoneme", "soundEvent", "say-as", "emotion"],
  emotion: ["break", "sub", "phoneme", "soundEvent", "say-as"],
  "say-as": ["vhml"],
  sub: [],
  phoneme: [],
};
const EMPTY_ONLY = new Set(["break", "soundEvent", "vhml"]);

export function validateSsml(source: string, options: SsmlOptions): SsmlIssue[] {
  const { tokens, issues: raw } = tokenizeMarkup(source);
  const problems: MarkupIssue[] = [...raw];
  const report = (offset: number, message: string): void => void problems.push({ offset, message });
  const stack: Array<{ tag: TagToken; text: string }> = [];
  let breakRunMs = 0;
  let breakRunStart = -1;
  let sawSpeak = false;

  for (const token of tokens) {
    const parent = stack.at(-1);
    if (token.kind === "text") {
      const meaningful = token.value.trim().length > 0;
      if (!parent && meaningful)
        report(token.start, "text outside <speak>: every SSML document is wrapped in <speak></speak>");
      if (parent) parent.text += token.value;
      if (meaningful) breakRunMs = 0;
      continue;
    }
    if (token.kind === "close") {
      // An empty tag written open (<break ...>) was reported at its opening and never entered the stack: its
      // closing tag, if any, is part of the same mistake.
      if (EMPTY_ONLY.has(token.name) && parent?.tag.name !== token.name) continue;
      const at = stack.findLastIndex((open) => open.tag.name === token.name);
      if (at === -1) {
        report(token.start, `</${token.name}> closes nothing`);
        continue;
      }
      // Whatever was opened inside and not closed is the mistake (one message each), not the tags around it.
      for (const unclosed of stack.splice(at + 1).reverse())
        report(unclosed.tag.start, `<${unclosed.tag.name}> is never closed (</${token.name}> comes first)`);
      const closed = stack.pop()!;
      // Only an element's own text is checked (a <phoneme>'s characters; it has no children), so text is never
      // copied up the stack: deep nesting stays linear.
      checkContent(closed.tag, closed.text, report);
      continue;
    }
    const { name } = token;
    if (name === "speak") {
      if (parent) report(token.start, "<speak> cannot be nested; consecutive <speak> documents are allowed");
      sawSpeak = true;
    } else if (!parent) {
      report(token.start, `<${name}> outside <speak>`);
    } else if (!(name in CHILDREN) && !EMPTY_ONLY.has(name)) {
      report(
        token.start,
        `unsupported tag <${name}>; supported: speak, break, sub, phoneme, soundEvent, say-as${options.flavor === "nls" ? ", emotion" : ""}`,
      );
    } else if (!(CHILDREN[parent.tag.name] ?? []).includes(name)) {
      report(token.start, `<${name}> cannot appear inside <${parent.tag.name}>`);
    }
    if (EMPTY_ONLY.has(name) && token.kind === "open")
      report(token.start, `<${name}> is an empty tag: write <${name} .../>`);
    checkAttributes(token, options, report);
    if (name === "break") {
      if (breakRunMs === 0) breakRunStart = token.start;
      breakRunMs += breakMs(token.attrs.get("time")) ?? 0;
      if (breakRunMs > MAX_BREAK_RUN_MS) {
        report(breakRunStart, `consecutive <break> tags total ${breakRunMs} ms; the service keeps only the first 10 s`);
        breakRunMs = Number.NEGATIVE_INFINITY; // one report per run
      }
    } else if (token.kind === "open" || name === "soundEvent") {
      breakRunMs = 0;
    }
    // An empty tag written open is reported above and taken as closed, so one mistake makes one message.
    if (token.kind === "open" && !EMPTY_ONLY.has(name)) stack.push({ tag: token, text: "" });
  }
  for (const open of stack) report(open.tag.start, `<${open.tag.name}> is never closed`);
  if (!sawSpeak && problems.length === 0) report(0, "no <speak> element");
  const sorted = problems.sort((a, b) => a.offset - b.offset);
  const positions = lineColumns(
    source,
    sorted.map((p) => p.offset),
  );
  return sorted.map((p, i) => ({ ...p, ...positions[i]! }));
}

/** Throws an InputError listing the first problems, each with line:column, and up to 50 positions for a client to mark. */
export function assertValidSsml(source: string, options: SsmlOptions, field = "ssml"): void {
  const issues = validateSsml(source, options);
  if (issues.length === 0) return;
  const shown = issues.slice(0, 5).map((i) => `${i.line}:${i.column} ${i.message}`);
  throw new InputError(
    field,
    `invalid SSML: ${shown.join("; ")}${issues.length > 5 ? ` (+${issues.length - 5} more)` : ""}`,
    { code: "InvalidSsml", positions: issues.slice(0, 50) },
  );
}

function checkAttributes(tag: TagToken, options: SsmlOptions, report: (offset: number, message: string) => void): void {
  const at = tag.start;
  const allowed: Record<string, readonly string[]> = {
    speak: ["voice", "rate", "pitch", "volume", "effect", "effectValue", "bgm", "backgroundMusicVolume"],
    break: ["time"],
    sub: ["alias"],
    phoneme: ["alphabet", "ph"],
    soundEvent: ["src"],
    "say-as": ["interpret-as"],
    emotion: ["category", "intensity"],
    vhml: [],
  };
  for (const attr of tag.attrs.keys()) {
    if (!(allowed[tag.name] ?? []).includes(attr)) report(at, `<${tag.name}> has no attribute '${attr}'`);
  }
  const a = (name: string): string | undefined => tag.attrs.get(name);
  const need = (name: string): string | undefined => {
    const v = a(name);
    if (v === undefined || v.trim() === "") report(at, `<${tag.name}> requires ${name}="..."`);
    return v;
  };
  switch (tag.name) {
    case "speak": {
      decimalIn(a("rate"), 0.5, 2, "rate", at, report);
      decimalIn(a("pitch"), 0.5, 2, "pitch", at, report);
      integerIn(a("volume"), 0, 100, "volume", at, report);
      integerIn(a("backgroundMusicVolume"), 0, 100, "backgroundMusicVolume", at, report);
      checkEffect(a("effect"), a("effectValue"), options.sampleRate ?? 48_000, at, report);
      if (a("bgm") !== undefined && !isHttpUrl(a("bgm")!))
        report(at, `<speak> bgm must be an http(s) URL of a 16 kHz mono WAV in OSS`);
      break;
    }
    case "break": {
      const time = a("time");
      if (time !== undefined && breakMs(time) === undefined)
        report(at, `<break> time="${time}" must be 1s-10s (whole seconds) or 50ms-10000ms (whole milliseconds)`);
      break;
    }
    case "sub":
      need("alias");
      break;
    case "phoneme": {
      const alphabet = need("alphabet");
      need("ph");
      if (alphabet !== undefined && alphabet !== "py" && alphabet !== "cmu")
        report(at, `<phoneme> alphabet="${alphabet}" must be "py" or "cmu"`);
      break;
    }
    case "soundEvent": {
      const src = need("src");
      if (src !== undefined && src.trim() !== "" && !isHttpUrl(src))
        report(at, `<soundEvent> src must be an http(s) URL of a 16 kHz mono WAV of at most 2 MB`);
      break;
    }
    case "say-as": {
      const kind = need("interpret-as");
      if (kind !== undefined && kind !== "" && !INTERPRET_AS.includes(kind))
        report(at, `<say-as> interpret-as="${kind}" must be one of ${INTERPRET_AS.join(", ")}`);
      break;
    }
    case "emotion": {
      if (options.flavor !== "nls")
        report(at, "<emotion> is an NLS tag for multi-emotion voices; CosyVoice does not support it");
      else if (!options.emotions?.length)
        report(
          at,
          "<emotion> needs a multi-emotion voice (the *_emo voices); otherwise NLS answers 'Illegal ssml text'",
        );
      const category = need("category");
      if (category && options.emotions?.length && !options.emotions.includes(category))
        report(
          at,
          `<emotion> category="${category}" is not supported by this voice; it supports ${options.emotions.join(", ")}`,
        );
      decimalIn(a("intensity"), 0.01, 2, "intensity", at, report);
      break;
    }
  }
}

function checkContent(tag: TagToken, text: string, report: (offset: number, message: string) => void): void {
  if (tag.name !== "phoneme" || tag.attrs.get("alphabet") !== "py") return;
  const ph = tag.attrs.get("ph") ?? "";
  const syllables = ph.trim().split(/\s+/).filter(Boolean);
  const chars = Array.from(text.replace(/\s+/g, ""));
  if (syllables.length !== chars.length) {
    report(
      tag.start,
      `<phoneme alphabet="py"> has ${syllables.length} pinyin syllable(s) for ${chars.length} character(s); they must match one to one`,
    );
  }
  const bad = syllables.find((s) => !/^[a-zü]+(?:v)?[1-5]$/i.test(s));
  if (bad) report(tag.start, `<phoneme> pinyin syllable "${bad}" must be letters followed by a tone 1-5 (5 = neutral)`);
}

function checkEffect(
  effect: string | undefined,
  value: string | undefined,
  sampleRate: number,
  at: number,
  report: (o: number, m: string) => void,
): void {
  if (effect === undefined) {
    if (value !== undefined) report(at, '<speak> effectValue needs effect="eq|lpfilter|hpfilter"');
    return;
  }
  if (!EFFECTS.includes(effect)) return report(at, `<speak> effect="${effect}" must be one of ${EFFECTS.join(", ")}`);
  if (effect === "eq") {
    const gains = (value ?? "").trim().split(/\s+/);
    if (gains.length !== 8 || gains.some((g) => !/^-?\d+$/.test(g) || Math.abs(Number(g)) > 20)) {
      report(at, `<speak effect="eq"> effectValue must be 8 integers from -20 to 20 separated by spaces`);
    }
  } else if (effect === "lpfilter" || effect === "hpfilter") {
    const hz = Number(value);
    if (!/^\d+$/.test(value ?? "") || hz <= 0 || hz > sampleRate / 2)
      report(at, `<speak effect="${effect}"> effectValue must be an integer frequency in (0, ${sampleRate / 2}]`);
  } else if (value !== undefined) {
    report(at, `<speak effect="${effect}"> takes no effectValue`);
  }
}

/** Milliseconds of a break time, or undefined when out of range or malformed. No time = the default 1 s. */
export function breakMs(time: string | undefined): number | undefined {
  if (time === undefined) return 1000;
  const m = /^(\d+)(ms|s)$/.exec(time.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2] === "s") return n >= 1 && n <= 10 ? n * 1000 : undefined;
  return n >= 50 && n <= 10_000 ? n : undefined;
}

function decimalIn(
  value: string | undefined,
  min: number,
  max: number,
  name: string,
  at: number,
  report: (o: number, m: string) => void,
): void {
  if (value === undefined) return;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || n < min || n > max)
    report(at, `${name}="${value}" must be a number from ${min} to ${max}`);
}

function integerIn(
  value: string | undefined,
  min: number,
  max: number,
  name: string,
  at: number,
  report: (o: number, m: string) => void,
): void {
  if (value === undefined) return;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max)
    report(at, `${name}="${value}" must be an integer from ${min} to ${max}`);
}

function isHttpUrl(value: string): boolean {
  return /^https?:\/\/[^\s]+$/.test(value);
}
