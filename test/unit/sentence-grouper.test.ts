import { describe, expect, it } from "vitest";
import { SentenceGrouper } from "../../lib/speech/timed.js";

const w = (text: string, beginMs: number) => ({ text, beginMs, endMs: beginMs + 100 });

describe("grouping NLS's timed words into sentences", () => {
  it("completes a sentence when a word is found beyond its end, across MetaInfo batches", () => {
    const g = new SentenceGrouper("你好。Hello world. 再见！");
    expect(g.add([w("你", 0), w("好", 100)])).toEqual([]);
    expect(g.add([w("Hello", 300), w("world", 400)])).toEqual([{ text: "你好。", beginMs: 0, endMs: 200 }]);
    expect(g.add([w("再", 700), w("见", 800)])).toEqual([{ text: "Hello world.", beginMs: 300, endMs: 500 }]);
    expect(g.end()).toEqual({ text: "再见！", beginMs: 700, endMs: 900 });
    expect(g.end()).toBeUndefined();
  });

  it("keeps words timed by pronunciation (12 spoken as 十 二) in the sentence under way", () => {
    const g = new SentenceGrouper("第12句。下一句。");
    const done = g.add([
      w("第", 0),
      w("十", 100),
      w("二", 200),
      w("句", 300),
      w("下", 500),
      w("一", 600),
      w("句", 700),
    ]);
    expect(done).toEqual([{ text: "第12句。", beginMs: 0, endMs: 400 }]);
    expect(g.end()).toEqual({ text: "下一句。", beginMs: 500, endMs: 800 });
  });
});
