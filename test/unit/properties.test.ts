/**
 * Property-based tests (fast-check) on the text layer and the request parsers: for arbitrary input, only an InputError
 * escapes (never a TypeError, a RangeError or a hang), the outputs keep their promises, and the work is linear in the
 * input (the time for 8n is compared with the time for n, so a quadratic path shows as ~64x, not as a flaky deadline).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CloudEventSchema } from "../../functions/_fc/events.js";
import { BatchRequestSchema } from "../../lib/batches/schema.js";
import { InputError } from "../../lib/errors.js";
import { readJson } from "../../lib/http/response.js";
import { JobRequestSchema } from "../../lib/jobs/intake.js";
import { RunTaskSchema } from "../../lib/providers/dashscope/messages.js";
import { StartSynthesisSchema } from "../../lib/providers/nls/messages.js";
import { OpenAiSpeechSchema } from "../../lib/speech/openai.js";
import { SpeechRequestSchema } from "../../lib/speech/request.js";
import {
  assertValidSsml,
  chunkText,
  countCosyVoiceChars,
  countNlsChars,
  decodeUtf8,
  validateSsml,
} from "../../lib/text/index.js";
import { parseInput } from "../../lib/validation.js";

/** Runs `fn`; passes when it returns or throws an InputError, fails on anything else. */
function onlyInputError(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
  }
}

/** SSML-shaped input: fragments of real markup, broken markup and text, in any order. */
const ssmlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "<speak>",
        "</speak>",
        '<speak rate="2">',
        '<break time="1s"/>',
        '<break time="20s"/>',
        "<break>",
        '<sub alias="x">',
        "</sub>",
        '<phoneme alphabet="py" ph="zi4">',
        "</phoneme>",
        '<say-as interpret-as="digits">',
        "</say-as>",
        '<emotion category="happy">',
        "</emotion>",
        "&",
        "&amp;",
        "&#x41;",
        "&#99999999;",
        "<",
        ">",
        '"',
        "'",
        "\n",
        "<!--",
        "<?x",
        '<a b="',
        "/>",
        "</",
      ),
      fc.string({ maxLength: 8 }),
      fc.constantFrom("字", "a", " ", "。", "😀", "\u0000"),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(""));

describe("text layer, for arbitrary input", () => {
  it("validateSsml never throws, and every issue has a position inside the document", () => {
    fc.assert(
      fc.property(
        fc.oneof(ssmlish, fc.string()),
        fc.constantFrom("nls" as const, "cosyvoice" as const),
        (source, flavor) => {
          const issues = validateSsml(source, { flavor });
          for (const issue of issues) {
            expect(issue.offset).toBeGreaterThanOrEqual(0);
            expect(issue.offset).toBeLessThanOrEqual(source.length);
            expect(issue.line).toBeGreaterThanOrEqual(1);
            expect(issue.column).toBeGreaterThanOrEqual(1);
          }
          onlyInputError(() => assertValidSsml(source, { flavor }));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("chunkText keeps every chunk within its limit and loses no plain text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 400 }), fc.integer({ min: 1, max: 60 }), (text, max) => {
        let chunks: string[] = [];
        onlyInputError(() => (chunks = chunkText(text, { max })));
        for (const chunk of chunks) expect(countNlsChars(chunk)).toBeLessThanOrEqual(max);
        if (!text.trimStart().startsWith("<speak"))
          expect(chunks.join("").replace(/\s+/g, "")).toBe(text.replace(/\s+/g, ""));
      }),
      { numRuns: 300 },
    );
  });

  it("chunkText on SSML-shaped input throws nothing but InputError", () => {
    fc.assert(
      fc.property(
        ssmlish.map((s) => `<speak>${s}</speak>`),
        fc.integer({ min: 1, max: 40 }),
        (text, max) => onlyInputError(() => chunkText(text, { max })),
      ),
      { numRuns: 300 },
    );
  });

  it("counts plain text by code points (NLS) and Han as two (CosyVoice)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 200 }).filter((s) => !/^\s*<speak[\s>/]/.test(s)),
        (text) => {
          expect(countNlsChars(text)).toBe(Array.from(text).length);
          const han = Array.from(text).filter((ch) => /\p{Script=Han}/u.test(ch)).length;
          expect(countCosyVoiceChars(text)).toBe(Array.from(text).length + han);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("decodeUtf8 agrees with a strict decoder, and refuses only with an InputError naming the offset", () => {
    const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let expected: string | undefined;
        try {
          expected = strict.decode(bytes);
        } catch {
          expected = undefined;
        }
        try {
          const text = decodeUtf8(bytes);
          expect(text).toBe(expected);
        } catch (error) {
          expect(error).toBeInstanceOf(InputError);
          // UTF-16 byte order marks are refused by name even where the bytes happen to be valid UTF-8 otherwise.
          if (expected !== undefined) expect(bytes[0] === 0xff || bytes[0] === 0xfe).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        expect(decodeUtf8(new TextEncoder().encode(text))).toBe(text.replace(/^\uFEFF/, ""));
      }),
    );
  });
});

describe("request parsers, for arbitrary input", () => {
  const schemas = {
    SpeechRequestSchema,
    OpenAiSpeechSchema,
    JobRequestSchema,
    BatchRequestSchema,
    CloudEventSchema,
    StartSynthesisSchema,
    RunTaskSchema,
  };
  it.each(Object.entries(schemas))("%s refuses anything it does not accept with an InputError", (_name, schema) => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.json().map((j) => JSON.parse(j) as unknown),
          fc.object(),
        ),
        (value) => onlyInputError(() => parseInput(schema, value)),
      ),
      { numRuns: 300 },
    );
  });

  it("readJson answers any body with a value or an InputError", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.json().map((j) => new TextEncoder().encode(j)),
        ),
        async (bytes) => {
          const request = new Request("http://x/", { method: "POST", body: bytes });
          try {
            await readJson(request, 100);
          } catch (error) {
            expect(error).toBeInstanceOf(InputError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
