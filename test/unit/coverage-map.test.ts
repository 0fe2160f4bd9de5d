import { describe, expect, it } from "vitest";
import { coverageMap } from "../../lib/jobs/coverage-map.js";

const cue = (text: string, begin: number, end: number) => ({ text, begin_time: begin, end_time: end });

describe("the coverage map", () => {
  it("places each sentence of the text on the audio, however the provider split and punctuated its cues", () => {
    const text = "第一章。春天来了，花开了。Spring has come, and the birds are singing!";
    const { entries, coverage } = coverageMap(
      text,
      [
        cue("第一章", 0, 800),
        cue("春天来了", 900, 1500),
        cue("花开了。", 1500, 2100),
        cue("Spring has come and the birds are singing", 2300, 5000),
      ],
      [0, 2200],
    );
    expect(coverage).toEqual({ heard: 3, total: 3, missing: [] });
    expect(entries.map((e) => [e.text, e.beginMs, e.endMs, e.part])).toEqual([
      ["第一章。", 0, 800, 0],
      ["春天来了，花开了。", 900, 2100, 0],
      ["Spring has come, and the birds are singing!", 2300, 5000, 1],
    ]);
    expect(text.slice(...entries[1]!.range)).toBe("春天来了，花开了。");
  });

  it("reports a sentence the audio does not hold as missing, and goes on placing the rest", () => {
    const { entries, coverage } = coverageMap("一。二。三。", [cue("一。", 0, 500), cue("三。", 600, 1100)]);
    expect(coverage).toEqual({ heard: 2, total: 3, missing: [1] });
    expect(entries[1]).toMatchObject({ text: "二。", heard: false });
    expect(entries[2]).toMatchObject({ heard: true, beginMs: 600 });
  });
});
