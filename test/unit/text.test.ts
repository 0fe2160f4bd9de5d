import { describe, expect, it } from "vitest";
import { InputError } from "../../lib/errors.js";
import { CosyVoiceSynthesizer } from "../../lib/providers/dashscope/cosyvoice.js";
import { MinimaxClient } from "../../lib/providers/dashscope/minimax.js";
import {
  chunkText,
  cosyVoiceWeight,
  countCosyVoiceChars,
  countNlsChars,
  decodeUtf8,
  escapeXml,
  firstInvalidUtf8,
  speakable,
  validateSsml,
} from "../../lib/text/index.js";

describe("character counting", () => {
  it("counts a Chinese character, a letter, a punctuation mark and a space as one each (seed 000)", () => {
    expect(countNlsChars("你好，world!")).toBe(9);
    expect(countNlsChars("a b")).toBe(3);
  });

  it("does not count SSML tags, and counts an entity as the one character it stands for", () => {
    expect(countNlsChars('<speak rate="1.5">你好<break time="1s"/>&amp;</speak>')).toBe(3);
  });

  it("counts a character outside the BMP once, not as two UTF-16 units", () => {
    expect(countNlsChars("𠀀😀")).toBe(2);
  });

  it("counts a Han character as two for CosyVoice and everything else as one", () => {
    expect(countCosyVoiceChars("床前明月光，ab")).toBe(5 * 2 + 1 + 2);
    expect(countCosyVoiceChars("かな한")).toBe(3);
  });
});

describe("UTF-8 validation", () => {
  it("reports the byte offset of the first invalid sequence", () => {
    const bytes = Buffer.concat([Buffer.from("你好"), Buffer.from([0xc3, 0x28]), Buffer.from("ok")]);
    expect(firstInvalidUtf8(bytes)).toBe(6);
    expect(() => decodeUtf8(bytes)).toThrow(/byte offset 6/);
  });

  it("rejects overlong encodings, surrogates and truncated sequences", () => {
    expect(firstInvalidUtf8(Uint8Array.from([0xc0, 0xaf]))).toBe(0);
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0xed, 0xa0, 0x80]))).toBe(1);
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0x42, 0xe4, 0xbd]))).toBe(2);
    expect(firstInvalidUtf8(Buffer.from("𠀀 ok"))).toBe(-1);
  });

  it("says when Chinese text was saved as GBK, and how to save it as UTF-8", () => {
    // 你好，世界。 in GBK.
    const gbk = Uint8Array.from([0xc4, 0xe3, 0xba, 0xc3, 0xa3, 0xac, 0xca, 0xc0, 0xbd, 0xe7, 0xa1, 0xa3]);
    expect(() => decodeUtf8(gbk)).toThrow(/byte offset 0; it reads as GBK \(GB 18030\): save it as UTF-8/);
    // Bytes that are neither get no hint.
    expect(() => decodeUtf8(Uint8Array.from([0x41, 0xff, 0xff]))).toThrow(/byte offset 1$/);
  });

  it("names UTF-16 input and strips a UTF-8 byte order mark", () => {
    expect(() => decodeUtf8(Uint8Array.from([0xff, 0xfe, 0x41, 0x00]))).toThrow(/UTF-16LE/);
    expect(decodeUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x41]))).toBe("A");
  });

  it("throws an InputError that names the field", () => {
    try {
      decodeUtf8(Uint8Array.from([0xff]), "input.key");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).field).toBe("input.key");
    }
  });
});

describe("chunking", () => {
  it("cuts at sentence ends first and keeps every chunk within the limit", () => {
    const text = "第一句话。第二句话比较长一些！Third sentence here. 第四句？";
    const chunks = chunkText(text, { max: 16 });
    expect(chunks.join("")).toBe(text);
    for (const c of chunks) expect(countNlsChars(c)).toBeLessThanOrEqual(16);
    expect(chunks[0]).toBe("第一句话。第二句话比较长一些！");
  });

  it("does not cut at a decimal point", () => {
    const chunks = chunkText("Pi is 3.14 exactly. Next one.", { max: 20 });
    expect(chunks[0]).toBe("Pi is 3.14 exactly. ");
  });

  it("falls back to clauses, then spaces, then code points, never splitting a surrogate pair", () => {
    const clauses = chunkText("一二三四五，六七八九十，甲乙丙", { max: 8 });
    expect(clauses).toEqual(["一二三四五，", "六七八九十，", "甲乙丙"]);
    const emoji = chunkText("😀😀😀😀😀", { max: 2 });
    expect(emoji).toEqual(["😀😀", "😀😀", "😀"]);
  });

  it("uses the provider's weight, so Han characters count twice for CosyVoice", () => {
    const chunks = chunkText("一二三。四五六。", { max: 8, weight: cosyVoiceWeight });
    expect(chunks).toEqual(["一二三。", "四五六。"]);
  });

  it("keeps SSML chunks well-formed and never splits inside a tag, an entity or an inline element", () => {
    const ssml = '<speak rate="1.5">第一句&amp;话。<sub alias="万维网联盟">W3C</sub>第二句话。第三句话。</speak>';
    const chunks = chunkText(ssml, { max: 8 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(validateSsml(c, { flavor: "cosyvoice" })).toEqual([]);
      expect(c.startsWith('<speak rate="1.5">')).toBe(true);
      expect(countNlsChars(c)).toBeLessThanOrEqual(8);
    }
    expect(chunks.join("")).toContain('<sub alias="万维网联盟">W3C</sub>');
    expect(chunks.join("")).toContain("&amp;");
  });

  it("refuses an inline element heavier than the limit instead of cutting it", () => {
    expect(() => chunkText('<speak><say-as interpret-as="digits">1234567890</say-as></speak>', { max: 5 })).toThrow(
      InputError,
    );
  });
});

describe("XML escaping", () => {
  it("escapes the five XML specials so plain text cannot smuggle in SSML", () => {
    expect(escapeXml(`<speak>a & "b" 'c'</speak>`)).toBe(
      "&lt;speak&gt;a &amp; &quot;b&quot; &apos;c&apos;&lt;/speak&gt;",
    );
  });
});

describe("SSML validation", () => {
  const ok = (s: string, flavor: "cosyvoice" | "nls" = "cosyvoice", emotions?: string[]) =>
    validateSsml(s, { flavor, emotions });
  const messages = (s: string, flavor: "cosyvoice" | "nls" = "cosyvoice", emotions?: string[]) =>
    ok(s, flavor, emotions)
      .map((i) => i.message)
      .join(" | ");

  it("accepts the seed's own examples", () => {
    for (const s of [
      '<speak rate="2">My speaking rate is faster than a normal person\'s.</speak>',
      '<speak> 去<phoneme alphabet="py" ph="dian3 dang4 hang2">典当行</phoneme>把这个玩意<phoneme alphabet="py" ph="dang4 diao4">当掉</phoneme> </speak>',
      '<speak> A horse was frightened<soundEvent src="http://nls.alicdn.com/sound-event/horse-neigh.wav"/>and people scattered to avoid it. </speak>',
      '<speak effect="eq" effectValue="1 -20 1 1 1 1 20 1"> Do you like the robot WALL-E? </speak>',
      '<speak> <sub alias="network protocol">W3C</sub> </speak><speak> <say-as interpret-as="digits">12345</say-as> </speak>',
      '<speak> Please close your eyes and take a rest.<break time="500ms"/>Okay, please open your eyes. </speak>',
    ]) {
      expect(ok(s), s).toEqual([]);
    }
  });

  it("reports one mistake once, at its cause: a <break> not self-closed, an element left open inside another", () => {
    const broken = ok('<speak>\n好的。<break time="1s">再见。\n</speak>');
    expect(broken).toEqual([
      expect.objectContaining({ line: 2, column: 4, message: "<break> is an empty tag: write <break .../>" }),
    ]);
    const unclosed = ok('<speak>\n<say-as interpret-as="digits">123\n</speak>');
    expect(unclosed).toEqual([
      expect.objectContaining({ line: 2, column: 1, message: "<say-as> is never closed (</speak> comes first)" }),
    ]);
    // No message speaks of an offset: positions are line and column.
    expect(messages('<speak><sub alias="x">a</speak></sub>')).not.toMatch(/offset/);
  });

  it("reports nested speak, unknown tags and unclosed elements with line and column", () => {
    const issues = ok("<speak>\n  <speak>x</speak>\n  <prosody>y</prosody>");
    expect(issues[0]).toMatchObject({ line: 1, column: 1 });
    expect(issues.map((i) => i.message).join(" ")).toMatch(/never closed/);
    expect(issues.find((i) => /nested/.test(i.message))).toMatchObject({ line: 2, column: 3 });
    expect(issues.find((i) => /unsupported tag <prosody>/.test(i.message))).toMatchObject({ line: 3, column: 3 });
  });

  it("enforces attribute ranges from the seed's property tables", () => {
    expect(messages('<speak rate="3" pitch="0.4" volume="101">x</speak>')).toMatch(
      /rate="3".*pitch="0.4".*volume="101"/,
    );
    expect(messages('<speak effect="eq" effectValue="1 2 3">x</speak>')).toMatch(/8 integers/);
    expect(messages('<speak effect="robot2">x</speak>')).toMatch(/effect="robot2"/);
  });

  it("bounds break times to 50 ms-10 s and the run of consecutive breaks to 10 s", () => {
    expect(messages('<speak>a<break time="11s"/>b</speak>')).toMatch(/1s-10s/);
    expect(messages('<speak>a<break time="40ms"/>b</speak>')).toMatch(/50ms-10000ms/);
    expect(messages('<speak>a<break time="5s"/><break time="5s"/><break time="5s"/>b</speak>')).toMatch(
      /total 15000 ms/,
    );
    expect(ok('<speak>a<break time="5s"/>b<break time="5s"/><break time="5s"/>c</speak>')).toEqual([]);
  });

  it("requires one pinyin syllable with a tone per character in phoneme py", () => {
    expect(messages('<speak><phoneme alphabet="py" ph="dian3 dang4">典当行</phoneme></speak>')).toMatch(
      /2 pinyin syllable\(s\) for 3 character/,
    );
    expect(messages('<speak><phoneme alphabet="py" ph="dian dang4">典当</phoneme></speak>')).toMatch(/tone 1-5/);
    expect(messages('<speak><phoneme alphabet="ipa" ph="x">a</phoneme></speak>')).toMatch(/"py" or "cmu"/);
  });

  it("requires sub alias, soundEvent src and a known say-as interpret-as", () => {
    expect(messages("<speak><sub>W3C</sub></speak>")).toMatch(/requires alias/);
    expect(messages("<speak><soundEvent/></speak>")).toMatch(/requires src/);
    expect(messages('<speak><say-as interpret-as="ordinal">1</say-as></speak>')).toMatch(/interpret-as="ordinal"/);
    expect(messages('<speak><sub alias="x"><break/></sub></speak>')).toMatch(/<break> cannot appear inside <sub>/);
  });

  it("allows <emotion> only for NLS multi-emotion voices and their categories", () => {
    const doc = '<speak><emotion category="happy" intensity="1.0">今天天气真好</emotion></speak>';
    expect(ok(doc, "nls", ["happy", "sad"])).toEqual([]);
    expect(messages(doc, "cosyvoice")).toMatch(/CosyVoice does not support/);
    expect(messages(doc, "nls")).toMatch(/multi-emotion voice/);
    expect(messages(doc, "nls", ["sad"])).toMatch(/category="happy" is not supported/);
  });

  it("reports unescaped ampersands and text outside speak", () => {
    expect(messages("<speak>a & b</speak>")).toMatch(/unescaped '&'/);
    expect(messages("hello <speak>a</speak>")).toMatch(/text outside <speak>/);
  });
});

describe("characters no one means to hear", () => {
  const nul = "前\u0000后";
  const half = "半个\ud800字";
  it("are refused by every provider's validation, naming the field, the code point and the index", () => {
    expect(() => speakable({ text: half })).toThrow(/text: contains an unpaired UTF-16 surrogate U\+D800 at index 2/);
    expect(() => speakable({ text: "\udc00x" })).toThrow(/U\+DC00 at index 0/);
    expect(speakable({ text: "😀 ok" }).text).toBe("😀 ok"); // a real pair is fine
    const cosy = new CosyVoiceSynthesizer({ url: "ws://unused", apiKey: "unused" });
    expect(() => cosy.prepare({ model: "cosyvoice-v3-flash", voice: "longanyang", text: nul })).toThrow(
      /text: contains the control character U\+0000 at index 1/,
    );
    expect(() => cosy.prepare({ model: "cosyvoice-v3-flash", voice: "longanyang", text: half })).toThrow(
      /unpaired UTF-16 surrogate/,
    );
    const minimax = new MinimaxClient({ url: "http://unused", apiKey: "unused" });
    expect(() =>
      minimax.prepare("MiniMax/speech-02-hd", { text: nul, voice_setting: { voice_id: "male-qn-qingse" } }),
    ).toThrow(/input\.text: contains the control character U\+0000/);
  });
});

describe("plain text's chunks", () => {
  it("are the same whether found sentence by sentence in the string or code point by code point (property)", async () => {
    const fc = (await import("fast-check")).default;
    const { chunkPlainByCodePoints } = await import("../../lib/text/chunk.js");
    const { cosyVoiceWeight } = await import("../../lib/text/count.js");
    const piece = fc.constantFrom(
      "a",
      "b",
      " ",
      ".",
      "。",
      "！",
      "?",
      "\n",
      "，",
      "”",
      "」",
      ")",
      "中",
      "😀",
      "\uD800",
      ",",
      "x.y",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 80 }).map((a) => a.join("")),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        (text, max, cosy) => {
          const outcome = (f: () => string[]) => {
            try {
              return f();
            } catch (error) {
              return String(error);
            }
          };
          const weight = cosy ? cosyVoiceWeight : undefined;
          expect(outcome(() => chunkText(text, { max, ssml: false, ...(weight ? { weight } : {}) }))).toEqual(
            outcome(() => chunkPlainByCodePoints(text, max, weight)),
          );
        },
      ),
      { numRuns: 3000, seed: 31 },
    );
  });
});
