/**
 * Seams: loudness as BS.1770 measures it, where speech is, the trims a join gets, a part trimmed in whole frames or
 * samples (an MP3 from LAME, whose frames read back into earlier frames' bytes, cut at its front without decoding
 * another part's bytes), and each join measured in the stitched output.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { kWeighted, loudnessOf } from "../../lib/audio/loudness.js";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { crc16, silencedFrame } from "../../lib/audio/mp3-side-info.js";
import { measureEdges } from "../../lib/audio/part-edges.js";
import { decodeMono } from "../../lib/audio/pcm-decode.js";
import { MIN_EDGE_MS, planSeams } from "../../lib/audio/seam-plan.js";
import { SeamProbe } from "../../lib/audio/seam-probe.js";
import { stitch } from "../../lib/audio/stitch.js";
import { voicing } from "../../lib/audio/voicing.js";
import { readWav, wavHeader } from "../../lib/audio/wav.js";
import { estimatedEntries } from "../../lib/jobs/estimated-map.js";
import { medianSentencePause, seamReport } from "../../lib/jobs/seam-report.js";
import { edgeBreaksMs } from "../../lib/text/edge-breaks.js";
import { collect } from "../helpers/streams.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/audio/${name}`, import.meta.url));

function sine(rate: number, ms: number, amplitude: number, hz = 1000): Float32Array {
  const out = new Float32Array(Math.round((rate * ms) / 1000));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}
const silence = (rate: number, ms: number) => new Float32Array(Math.round((rate * ms) / 1000));
function pcm(...spans: Float32Array[]): Buffer {
  const total = spans.reduce((n, s) => n + s.length, 0);
  const out = Buffer.alloc(total * 2);
  let at = 0;
  for (const s of spans) for (const v of s) out.writeInt16LE(Math.round(v * 32767), at++ * 2);
  return out;
}
const source = (bytes: Buffer, chunk = 1000) => ({
  open: async function* () {
    for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
  },
});

describe("loudness (ITU-R BS.1770)", () => {
  it("reads a 1 kHz sine in one channel at its level less 3.01 dB, at 48 and 16 kHz", () => {
    for (const rate of [48000, 16000])
      for (const amplitude of [1, 0.1]) {
        const s = sine(rate, 3000, amplitude);
        const expected = -3.01 + 20 * Math.log10(amplitude);
        // The first 100 ms let the filters settle.
        expect(loudnessOf(kWeighted(s, rate), rate / 10)).toBeCloseTo(expected, 1);
      }
  });

  it("weighs low frequencies down (the RLB high-pass) and high ones up (the shelf)", () => {
    const at = (hz: number) => loudnessOf(kWeighted(sine(48000, 2000, 0.5, hz), 48000), 4800);
    expect(at(20)).toBeLessThan(at(1000) - 10);
    expect(at(8000)).toBeGreaterThan(at(1000) + 3);
    expect(loudnessOf(kWeighted(silence(16000, 500), 16000))).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe("voicing", () => {
  it("finds speech between silences to the 10 ms block, and nothing in faint noise", () => {
    const rate = 16000;
    const v = voicing(Float32Array.from([...silence(rate, 500), ...sine(rate, 800, 0.3), ...silence(rate, 300)]), rate);
    expect(v).toEqual({ firstMs: 500, lastMs: 1300, durationMs: 1600 });
    const noise = Float32Array.from({ length: rate }, (_, i) => 0.003 * Math.sin(i * 1.3));
    expect(voicing(noise, rate).firstMs).toBeUndefined();
  });
});

describe("planning the joins", () => {
  const edge = (leadMs: number, trailMs: number, voiced = true) => ({ leadMs, trailMs, voiced });

  it("leaves a join within 1.5 × the median pause alone, and trims a padded start down to the voice's pause", () => {
    const { trims, bounds } = planSeams([edge(100, 200), edge(150, 250), edge(2100, 200)], 300);
    expect(bounds.map((b) => b.boundMs)).toEqual([450, 450, 450]);
    expect(trims[0]).toMatchObject({ leadMs: 0, trailMs: 0 });
    expect(trims[1]!.leadMs).toBe(0);
    // 250 + 2100 = 2350 ms heard, 2050 too many: from the longer side until both are level (1850 ms), then 100 from
    // each; each side keeps at least MIN_EDGE_MS.
    expect(trims[2]!.leadMs).toBe(1950);
    expect(trims[1]!.trailMs).toBe(100);
    expect(trims[2]!.leadMs).toBeLessThanOrEqual(2100 - MIN_EDGE_MS);
  });

  it("takes from both sides alike once they are level, never cutting into MIN_EDGE_MS", () => {
    const { trims } = planSeams([edge(0, 700), edge(700, 0)], 200);
    // 1400 ms heard, 1200 too many: each side gives all but MIN_EDGE_MS, 580 ms, and the join keeps 240 ms.
    expect(trims[0]!.trailMs).toBe(700 - MIN_EDGE_MS);
    expect(trims[1]!.leadMs).toBe(700 - MIN_EDGE_MS);
    const even = planSeams([edge(0, 600), edge(600, 0)], 400).trims;
    expect(even[0]!.trailMs + even[1]!.leadMs).toBe(800);
    expect(even[0]!.trailMs).toBe(even[1]!.leadMs);
  });

  it("keeps a <break> the text asks for at a join, and leaves a part with no speech found as it is", () => {
    const asked = planSeams([edge(100, 1500), edge(1500, 100)], 300, [3000]);
    expect(asked.bounds[1]!.boundMs).toBe(3000);
    expect(asked.trims[0]!.trailMs + asked.trims[1]!.leadMs).toBe(0);
    const silent = planSeams([edge(100, 4000), edge(4000, 4000, false)], 300);
    expect(silent.trims[0]!.trailMs + silent.trims[1]!.leadMs).toBe(0);
  });

  it("takes the voice's pause from the gaps between its timed sentences, and a default without timings", () => {
    const cue = (b: number, e: number) => ({ text: "x", begin_time: b, end_time: e });
    expect(
      medianSentencePause([
        [cue(0, 1000), cue(1250, 2000), cue(2300, 3000)],
        [cue(0, 500), cue(900, 1000)],
      ]),
    ).toBe(300);
    expect(medianSentencePause([[cue(0, 1000)]])).toBe(400);
  });

  it("reads the <break> at a text's start and end, not in its middle", () => {
    expect(edgeBreaksMs('<speak><break time="2s"/>你好<break time="500ms"/>世界<break time="700ms"/></speak>')).toEqual(
      {
        leadMs: 2000,
        trailMs: 700,
      },
    );
    expect(edgeBreaksMs("plain text")).toEqual({ leadMs: 0, trailMs: 0 });
  });
});

describe("trimming in the stitch", () => {
  it("drops whole samples from a PCM part's edges, and the WAV header counts only what is kept", async () => {
    const rate = 16000;
    const a = pcm(silence(rate, 100), sine(rate, 500, 0.3), silence(rate, 900));
    const b = pcm(silence(rate, 2000), sine(rate, 500, 0.3));
    const wav = (data: Buffer) => Buffer.concat([wavHeader(data.length, rate), data]);
    const stitched = stitch(
      "wav",
      [
        { ...source(wav(a)), dataBytes: a.length, trim: { leadMs: 0, trailMs: 600 } },
        { ...source(wav(b)), dataBytes: b.length, trim: { leadMs: 1800, trailMs: 0 } },
      ],
      rate,
    );
    const out = await collect(stitched.stream);
    expect(readWav(out)).toMatchObject({ durationMs: 1500 - 600 + 2500 - 1800 });
    expect(await stitched.parts).toEqual([
      { ms: 900, leadDroppedMs: 0, trailDroppedMs: 600 },
      { ms: 700, leadDroppedMs: 1800, trailDroppedMs: 0 },
    ]);
    const heard = voicing(await decodeMono("pcm", out.subarray(44)), rate);
    expect(heard).toMatchObject({ firstMs: 100, lastMs: 1600 });
  });

  it("cuts a LAME part's front in whole frames without any frame decoding another part's bytes", async () => {
    const before = fixture("lame-before.mp3");
    const lead = fixture("lame-lead.mp3");
    // LAME's frames do reach back into earlier frames (main_data_begin > 0): the case the silencing is for.
    expect(mp3Frames(lead).some((f) => lead[f.offset + 4]! > 0)).toBe(true);
    const edges = await measureEdges("mp3", lead, lead, 16000);
    expect(edges.leadMs).toBeGreaterThan(1950);
    const trim = { leadMs: 1700, trailMs: 0, voiceMs: edges.leadMs };
    const stitched = stitch("mp3", [source(before, 700), { ...source(lead, 333), trim }], 16000);
    const out = await collect(stitched.stream);
    const parts = await stitched.parts;
    const frameMs = 36;
    expect(parts[1]!.leadDroppedMs).toBeLessThanOrEqual(1700);
    expect(parts[1]!.leadDroppedMs).toBeGreaterThan(1700 - frameMs);
    const dropped = Math.round(parts[1]!.leadDroppedMs / frameMs);
    const decoded = await decodeMono("mp3", out);
    const alone = await decodeMono("mp3", lead);
    const join = Math.round((parts[0]!.ms * 16000) / 1000);
    // Two frames after the cut carry no data (their bytes hold what the next frames read back): exact silence where
    // the noise was.
    let quiet = 0;
    for (let i = join + 576; i < join + 2 * 576; i++) quiet = Math.max(quiet, Math.abs(decoded[i]!));
    expect(quiet).toBeLessThan(1e-4);
    // Every frame after them decodes exactly as in the part alone (the noise, the tone's start and the tone), once the
    // decoder's overlap with the silenced frames (its 529-sample delay and half a granule) has passed.
    let worst = 0;
    for (let i = join + 5 * 576; i < decoded.length; i++)
      worst = Math.max(worst, Math.abs(decoded[i]! - alone[i - join + dropped * 576]!));
    expect(worst).toBeLessThan(1e-4);
    // A frame silenced keeps its length (its bytes stay for the frames after it).
    const frame = lead.subarray(mp3Frames(lead)[10]!.offset, mp3Frames(lead)[10]!.offset + mp3Frames(lead)[10]!.length);
    expect(silencedFrame(frame).length).toBe(frame.length);
  });

  it("computes the frame CRC as ISO 11172-3 does (CRC-16, polynomial 0x8005, initial 0xFFFF)", () => {
    expect(crc16([Buffer.from("123456789")])).toBe(0xaee7);
  });
});

describe("measuring the joins", () => {
  it("hears the pause across each join, the loudness step and the silence at the join itself", async () => {
    const rate = 16000;
    const probe = new SeamProbe("pcm", rate);
    const parts = [
      pcm(sine(rate, 2000, 0.2), silence(rate, 300)),
      pcm(silence(rate, 200), sine(rate, 2000, 0.1), silence(rate, 100)),
      pcm(silence(rate, 1000), sine(rate, 2000, 0.1)),
    ];
    const stitched = stitch(
      "pcm",
      parts.map((p) => source(p, 777)),
      rate,
      probe,
    );
    await collect(stitched.stream);
    expect(probe.seams).toHaveLength(2);
    const [first, second] = probe.seams;
    expect(first).toMatchObject({ after: 0, atMs: 2300, pauseMs: 500 });
    // Half the amplitude: 6.02 dB less.
    expect(first!.loudnessStepLu).toBeCloseTo(6.02, 1);
    expect(first!.joinPeakDbfs).toBe(Number.NEGATIVE_INFINITY);
    expect(second).toMatchObject({ after: 1, pauseMs: 1100 });
    expect(second!.loudnessStepLu).toBeCloseTo(0, 1);
    const kept = (await stitched.parts).map((p) => ({ ...p }));
    const report = seamReport(
      probe.seams,
      [
        { after: -1, boundMs: 450, pauseMs: 0 },
        { after: 0, boundMs: 750, pauseMs: 500 },
        { after: 1, boundMs: 750, pauseMs: 1100 },
      ],
      kept,
    );
    expect(report.entries.map((e) => e.ok)).toEqual([false, false]);
    expect(report.summary).toMatchObject({ joins: 2, outOfBounds: 2, worstPauseOverBoundMs: 350, clicks: 0 });
    expect(report.summary.worstLoudnessStepLu).toBeCloseTo(6.02, 1);
  });
});

describe("the estimated map (no timings)", () => {
  it("spreads each part's sentences over its measured audio by their pace, in the whole text's coordinates", () => {
    const text = "第一句话。Second one.第三句。";
    const entries = estimatedEntries(text, ["第一句话。", "Second one.第三句。"], [0, 2000], [2000, 3000]);
    expect(entries.map((e) => e.text)).toEqual(["第一句话。", "Second one.", "第三句。"]);
    expect(entries.map((e) => e.part)).toEqual([0, 1, 1]);
    expect(entries.map((e) => text.slice(e.range[0], e.range[1]))).toEqual(["第一句话。", "Second one.", "第三句。"]);
    expect(entries[0]).toMatchObject({ beginMs: 0, endMs: 2000, estimated: true });
    // Part 1: "Second one." (9 letters, 639 ms of pace) and "第三句" (852 ms) share its 3,000 ms in that proportion.
    expect(entries[1]).toMatchObject({ beginMs: 2000, endMs: 2000 + Math.round((3000 * 639) / (639 + 852)) });
    expect(entries[2]!.endMs).toBe(5000);
    // A part whose text is not the job's (the audible notice) is passed over.
    expect(estimatedEntries(text, ["本音频由人工智能生成。", text], [0, 900], [900, 5000])[0]).toMatchObject({
      part: 1,
      beginMs: 900,
    });
  });
});
