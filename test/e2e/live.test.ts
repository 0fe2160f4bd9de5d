/**
 * Live speech: text streamed in as a language model writes it (fragments of 1–5 characters at 20–50 ms), audio and
 * word timings out as they are made, and, after an interrupt at a random moment, an account of what the listener
 * heard that agrees with the audio it received. Both providers: NLS (a short-text task per unit on warm connections)
 * and CosyVoice (one duplex task). Also the HTTP variant (a chunked body), the record kept for a client that has gone,
 * and the refusals.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { readLabel } from "../../lib/audio/label-container.js";
import { mp3DurationMs } from "../../lib/audio/mp3.js";
import { readWav } from "../../lib/audio/wav.js";
import { countCosyVoiceChars, countNlsChars } from "../../lib/text/index.js";
import { prose, random } from "../helpers/book-fixture.js";
import { type Fragment, fragmentsOf, sleep } from "../helpers/language-model.js";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";
import { importSnippet, readmeSnippet } from "../helpers/readme-snippet.js";
import { API_KEY, useStreamServer } from "../helpers/stream-server.js";

const OTHER_KEY = "other-key-0123456789";
const cloud = useLocalCloud();
const stream = useStreamServer(cloud, {
  TTS_CACHE: "false",
  TTS_API_KEYS: `${API_KEY},${OTHER_KEY}`,
  STREAM_MAX_CHARS: "nls=600,cosyvoice=200000",
});

/** The same server, its live CosyVoice tasks kept alive after 100 ms of quiet instead of 18 s. */
const eager = useStreamServer(cloud, { TTS_CACHE: "false", TTS_API_KEYS: API_KEY }, { liveKeepAliveMs: 100 });

interface Mark {
  text: string;
  beginMs: number;
  endMs: number;
}

interface LiveResult {
  started?: { session: string; sampleRate: number; format: string; label?: unknown };
  audio: Buffer;
  words: Mark[];
  sentences: Mark[];
  errors: Array<{ error: { code: string; message: string; field?: string } }>;
  end?: {
    reason: string;
    textSpoken: string;
    textUnspoken: string;
    durationMs: number;
    charactersSent: number;
  };
  /** Everything the client wrote, in order. */
  written: string;
}

/**
 * A client of /v1/live: `start` with `options`, the fragments at their pace, then `end`; or, `interruptAfterMs` after
 * the first audio, `interrupt` (and no more text). Resolves when the service closes the socket.
 */
function speakLive(
  options: Record<string, unknown>,
  fragments: readonly Fragment[],
  opts: { interruptAfterMs?: number; close?: boolean; key?: string; server?: typeof stream } = {},
): Promise<LiveResult> {
  const ws = new WebSocket(`${(opts.server ?? stream)().wsUrl}/v1/live`, {
    headers: { authorization: `Bearer ${opts.key ?? API_KEY}` },
  });
  const result: LiveResult = { audio: Buffer.alloc(0), words: [], sentences: [], errors: [], written: "" };
  const chunks: Buffer[] = [];
  let stopped = false;
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("open", async () => {
      ws.send(JSON.stringify({ type: "start", ...options }));
      for (const f of fragments) {
        await sleep(f.delayMs);
        if (stopped || ws.readyState !== WebSocket.OPEN) return;
        ws.send(JSON.stringify({ type: "text", text: f.text }));
        result.written += f.text;
      }
      if (!stopped && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "end" }));
    });
    ws.on("message", (data: Buffer, binary) => {
      if (binary) {
        if (chunks.length === 0 && opts.interruptAfterMs !== undefined)
          setTimeout(() => {
            stopped = true;
            if (opts.close) ws.close();
            else ws.send(JSON.stringify({ type: "interrupt" }));
          }, opts.interruptAfterMs);
        chunks.push(data);
        return;
      }
      const m = JSON.parse(data.toString("utf8"));
      if (m.type === "started") result.started = m;
      else if (m.type === "word") result.words.push(m);
      else if (m.type === "sentence") result.sentences.push(m);
      else if (m.type === "error") result.errors.push(m);
      else if (m.type === "end") result.end = m;
    });
    ws.on("close", () => {
      result.audio = Buffer.concat(chunks);
      resolve(result);
    });
  });
}

const letters = (s: string): string => s.replace(/[^\p{L}\p{N}'’-]/gu, "");
const pcmMs = (bytes: number, rate: number): number => (bytes / 2 / rate) * 1000;
const rms = (pcm: Buffer): number => {
  let sum = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) sum += pcm.readInt16LE(i) ** 2;
  return Math.sqrt(sum / Math.max(1, pcm.length / 2));
};

/** Word times only move forward: each word begins at or after the last began, and ends after it begins. */
function expectMonotonic(words: readonly Mark[]): void {
  for (let i = 0; i < words.length; i++) {
    expect(words[i]!.endMs).toBeGreaterThanOrEqual(words[i]!.beginMs);
    if (i > 0) expect(words[i]!.beginMs).toBeGreaterThanOrEqual(words[i - 1]!.beginMs);
  }
}

/** The provider's characters billed so far, as its emulator counted the text it received. */
const billed = (provider: "nls" | "cosyvoice"): number =>
  provider === "nls" ? cloud().nls.gateway.stats.characters : cloud().dashscope.cosyvoice.stats.characters;

const PROVIDERS = [
  { provider: "nls" as const, count: countNlsChars },
  { provider: "cosyvoice" as const, count: countCosyVoiceChars },
];

describe.each(PROVIDERS)("live speech from a simulated language model, $provider", ({ provider, count }) => {
  const text = prose(7, 320).join(" ");

  it("speaks the whole text as it is written: audio, monotonic word timings, sentences, and all of it spoken", async () => {
    const before = billed(provider);
    const r = await speakLive({ provider, format: "pcm" }, fragmentsOf(text, 11));
    expect(r.errors).toEqual([]);
    expect(r.started?.session).toMatch(/^[0-9a-f-]{36}$/);
    // PCM has no container: the started message carries the AI-generated-content label, numbered by the session.
    expect(r.started?.label).toMatchObject({
      aigc: { Label: "1", ProduceID: r.started!.session },
      synthesis: { provider },
    });
    expect(r.end).toMatchObject({ reason: "done", textSpoken: text, textUnspoken: "" });
    // The audio is speech, as long as the end says, and every word of the text was timed within it.
    expect(rms(r.audio)).toBeGreaterThan(100);
    expect(Math.abs(pcmMs(r.audio.length, r.started!.sampleRate) - r.end!.durationMs)).toBeLessThanOrEqual(1);
    expectMonotonic(r.words);
    expect(r.words.map((w) => letters(w.text)).join("")).toBe(letters(text));
    expect(r.words.at(-1)!.endMs).toBeLessThanOrEqual(r.end!.durationMs);
    expect(r.sentences.length).toBeGreaterThan(1);
    expect(r.sentences.map((s) => letters(s.text)).join("")).toBe(letters(text));
    // Billed once: the provider received the text exactly, nothing more.
    expect(r.end!.charactersSent).toBe(count(text.trimEnd()) + (text.length - text.trimEnd().length));
    expect(billed(provider) - before).toBe(r.end!.charactersSent);
  });

  it.each([1, 2, 3])(
    "after an interrupt at a random moment (seed %i), says as spoken exactly the words whose audio arrived",
    async (seed) => {
      const fragments = fragmentsOf(text, 100 + seed);
      const writing = fragments.reduce((sum, f) => sum + f.delayMs, 0);
      const at = Math.floor(random(seed)() * writing * 0.8);
      const before = billed(provider);
      const r = await speakLive({ provider, format: "pcm" }, fragments, { interruptAfterMs: at });
      expect(r.errors).toEqual([]);
      expect(r.end?.reason).toBe("interrupted");
      const { textSpoken, textUnspoken } = r.end!;
      // The account covers everything written, in order.
      expect(textSpoken + textUnspoken).toBe(r.written);
      // What was heard is what the audio received holds: the words that ended within it, and no other.
      const heardMs = pcmMs(r.audio.length, r.started!.sampleRate);
      expect(Math.abs(heardMs - r.end!.durationMs)).toBeLessThanOrEqual(1);
      const heard = r.words.filter((w) => w.endMs <= heardMs);
      expect(letters(textSpoken)).toBe(heard.map((w) => letters(w.text)).join(""));
      expectMonotonic(r.words);
      // Nothing more was billed than was sent, and nothing was sent after the stream ended.
      expect(billed(provider) - before).toBeLessThanOrEqual(r.end!.charactersSent);
      expect(r.end!.charactersSent).toBeLessThanOrEqual(count(r.written));
      const after = billed(provider);
      await sleep(300);
      expect(billed(provider)).toBe(after);
    },
  );
});

describe("a live stream's containers", () => {
  it.each(["mp3", "wav"] as const)(
    "carry the AI-generated-content label in %s, as every output does",
    async (format) => {
      const r = await speakLive({ format }, [{ text: "A labelled stream.", delayMs: 0 }]);
      expect(r.end?.reason).toBe("done");
      expect(readLabel(r.audio)).toEqual(r.started?.label);
      if (format === "mp3") expect(mp3DurationMs(r.audio)).toBeGreaterThan(500);
      else expect(readWav(r.audio)?.sampleRate).toBe(r.started?.sampleRate);
    },
  );
});

describe("a language model that pauses longer than DashScope waits", () => {
  it("keeps the CosyVoice task alive with a flush, where a task left quiet is timed out", async () => {
    const faults = cloud().dashscope.cosyvoice.faults;
    // Margins wide enough for a loaded machine: a flush every 100 ms against DashScope's patience of 800 ms.
    faults.taskIdleMs = 800;
    try {
      // A tool call: one sentence, a second of nothing, then the rest.
      const fragments = [
        { text: "Let me look that up. ", delayMs: 0 },
        { text: "Here it is.", delayMs: 2000 },
      ];
      const kept = await speakLive({ provider: "cosyvoice", format: "pcm" }, fragments, { server: eager });
      expect(kept.end).toMatchObject({ reason: "done", textSpoken: "Let me look that up. Here it is." });
      const dropped = await speakLive({ provider: "cosyvoice", format: "pcm" }, fragments);
      expect(dropped.end?.reason).toBe("failed");
      expect(dropped.end?.textSpoken).toBe("Let me look that up.");
    } finally {
      faults.taskIdleMs = 23_000;
    }
  });
});

describe("a CosyVoice task refused for the account's quota", () => {
  it("is asked for again with backoff before the stream starts; one always refused is told the client, naming it", async () => {
    const gate = cloud().quotas.cosyvoice;
    const admit = gate.admit.bind(gate);
    let refusals = 1;
    let asked = 0;
    gate.admit = () => {
      asked++;
      return refusals-- > 0 ? undefined : admit();
    };
    try {
      const retried = await speakLive({ provider: "cosyvoice", format: "pcm" }, [
        { text: "Room at last.", delayMs: 0 },
      ]);
      expect(asked).toBe(2);
      expect(retried.end).toMatchObject({ reason: "done", textSpoken: "Room at last." });

      refusals = Number.POSITIVE_INFINITY;
      asked = 0;
      const refused = await speakLive({ provider: "cosyvoice", format: "pcm" }, [{ text: "No room.", delayMs: 0 }]);
      expect(asked).toBe(3);
      expect(refused.started).toBeUndefined();
      expect(refused.errors[0]!.error).toMatchObject({ code: "UpstreamBusy" });
    } finally {
      gate.admit = admit;
    }
  });
});

describe("a live stream's record", () => {
  it("says what was heard when the client simply closed, to its own key only", async () => {
    const r = await speakLive({ format: "pcm" }, fragmentsOf(prose(3, 200).join(" "), 5), {
      interruptAfterMs: 300,
      close: true,
    });
    const session = r.started!.session;
    let record: Record<string, unknown> = {};
    await eventually(async () => {
      const res = await fetch(`${stream().url}/v1/live/${session}`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      if (res.status !== 200) return false;
      record = (await res.json()) as Record<string, unknown>;
      return true;
    }, 5000);
    expect(record).toMatchObject({ session, provider: "nls", reason: "interrupted" });
    expect(String(record.textSpoken) + String(record.textUnspoken)).toBe(r.written);
    const heardMs = pcmMs(r.audio.length, r.started!.sampleRate);
    expect(Number(record.durationMs)).toBeGreaterThanOrEqual(Math.floor(heardMs));
    // Another key learns nothing of it: the same answer as for a session that never was.
    const other = await fetch(`${stream().url}/v1/live/${session}`, {
      headers: { authorization: `Bearer ${OTHER_KEY}` },
    });
    expect(other.status).toBe(404);
    const none = await fetch(`${stream().url}/v1/live/00000000-0000-0000-0000-000000000000`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(await other.json()).toEqual(await none.json());
  });
});

describe("live speech over HTTP, the text as a chunked request body", () => {
  it("speaks each fragment as it is sent and answers NDJSON events with the account at the end", async () => {
    const text = "Hello there, this comes in pieces. 你好，欢迎使用语音合成。And it ends here.";
    const fragments = fragmentsOf(text, 9);
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const f of fragments) {
          await sleep(f.delayMs);
          controller.enqueue(encoder.encode(f.text));
        }
        controller.close();
      },
    });
    const res = await fetch(`${stream().url}/v1/live?format=pcm&clauseWaitMs=200`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "text/plain; charset=utf-8" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const events = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ type: "started", session: res.headers.get("x-live-session") });
    const audio = Buffer.concat(events.filter((e) => e.type === "audio").map((e) => Buffer.from(e.audio, "base64")));
    expect(rms(audio)).toBeGreaterThan(100);
    const words = events.filter((e) => e.type === "word");
    expectMonotonic(words);
    expect(events.at(-1)).toMatchObject({ type: "end", reason: "done", textSpoken: text, textUnspoken: "" });
  });
});

describe("the README's live client", () => {
  it("runs as written, pointed at this server: all of the text spoken, its audio delivered", async () => {
    const code = await readmeSnippet("live-client");
    expect(code).toContain('import WebSocket from "ws";');
    const { speakLive: readmeClient } = await importSnippet<{
      speakLive: (tokens: AsyncIterable<string>, onAudio: (data: Buffer) => void) => Promise<Record<string, unknown>>;
    }>("live-client", code.replaceAll("ws://127.0.0.1:9000", stream().wsUrl).replaceAll("dev-key", API_KEY));
    const text = "你好，这是实时合成。It speaks as the model writes.";
    async function* tokens() {
      for (const f of fragmentsOf(text, 4)) {
        await sleep(f.delayMs);
        yield f.text;
      }
    }
    let bytes = 0;
    const end = await readmeClient(tokens(), (data) => {
      bytes += data.length;
    });
    expect(end).toMatchObject({ type: "end", reason: "done", textSpoken: text, textUnspoken: "" });
    expect(bytes).toBeGreaterThan(10_000);
  });
});

describe("live speech over HTTP, left mid-stream", () => {
  it("stops when the client leaves, and its record says what it heard; SSE when asked for", async () => {
    const text = prose(5, 400).join(" ");
    const fragments = fragmentsOf(text, 12);
    const encoder = new TextEncoder();
    let sent = "";
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const f = fragments.shift();
        if (!f) return controller.close();
        await sleep(f.delayMs);
        sent += f.text;
        controller.enqueue(encoder.encode(f.text));
      },
    });
    const aborter = new AbortController();
    const res = await fetch(`${stream().url}/v1/live?format=pcm`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, accept: "text/event-stream" },
      body,
      duplex: "half",
      signal: aborter.signal,
    } as RequestInit);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const session = res.headers.get("x-live-session")!;
    // Read until some audio has come, then leave.
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes("event: audio")) seen += new TextDecoder().decode((await reader.read()).value);
    aborter.abort();
    let record: Record<string, unknown> = {};
    await eventually(async () => {
      const r = await fetch(`${stream().url}/v1/live/${session}`, { headers: { authorization: `Bearer ${API_KEY}` } });
      if (r.status !== 200) return false;
      record = (await r.json()) as Record<string, unknown>;
      return true;
    }, 5000);
    expect(record).toMatchObject({ session, reason: "interrupted" });
    // Everything the service took is accounted for: a prefix of what was sent, spoken and unspoken in order.
    const taken = String(record.textSpoken) + String(record.textUnspoken);
    expect(sent.startsWith(taken)).toBe(true);
    expect(String(record.textUnspoken).length).toBeGreaterThan(0);
  });
});

describe("what a live stream refuses", () => {
  it("refuses a voice NLS gives no word timings for, naming the field, before any task starts", async () => {
    const tasks = cloud().nls.gateway.stats.tasks;
    const r = await speakLive({ provider: "nls", voice: "xiaoyun" }, []);
    expect(r.started).toBeUndefined();
    expect(r.errors[0]!.error).toMatchObject({ field: "voice" });
    expect(r.errors[0]!.error.message).toMatch(/timings/);
    expect(cloud().nls.gateway.stats.tasks).toBe(tasks);
  });

  it("refuses text past the provider's STREAM_MAX_CHARS, naming the field and the limit, and speaks what it took", async () => {
    const fragments = [
      { text: "a".repeat(590), delayMs: 0 },
      { text: " Too much here.", delayMs: 0 },
    ];
    const r = await speakLive({ provider: "nls", format: "pcm" }, fragments);
    expect(r.errors[0]!.error).toMatchObject({ field: "text", limit: 600 });
    expect(r.end).toMatchObject({ reason: "done" });
  });

  it("names the field of a message it cannot take, and goes on", async () => {
    const ws = new WebSocket(`${stream().wsUrl}/v1/live`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const messages: Array<Record<string, unknown>> = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("error", reject);
      ws.on("open", () => {
        ws.send(JSON.stringify({ type: "text", text: "early" }));
        ws.send(JSON.stringify({ type: "start", format: "pcm", clauseWaitMs: -1 }));
        ws.send(JSON.stringify({ type: "start", format: "pcm" }));
        ws.send(JSON.stringify({ type: "text", txt: "typo" }));
        ws.send(JSON.stringify({ type: "text", text: "Fine." }));
        ws.send(JSON.stringify({ type: "end" }));
      });
      ws.on("message", (data, binary) => {
        if (!binary) messages.push(JSON.parse(data.toString("utf8")));
      });
      ws.on("close", () => resolve());
    });
    const errors = messages.filter((m) => m.type === "error").map((m) => (m.error as { field: string }).field);
    expect(errors).toEqual(["type", "clauseWaitMs", "text"]);
    expect(messages.at(-1)).toMatchObject({ type: "end", reason: "done", textSpoken: "Fine." });
  });

  it("speaks what is held at a flush, with no sentence end and no clause wait to come", async () => {
    const ws = new WebSocket(`${stream().wsUrl}/v1/live`, { headers: { authorization: `Bearer ${API_KEY}` } });
    let end: Record<string, unknown> | undefined;
    const firstAudio = new Promise<void>((resolve, reject) => {
      ws.on("error", reject);
      ws.on("open", () => {
        ws.send(JSON.stringify({ type: "start", format: "pcm", clauseWaitMs: 10_000 }));
        ws.send(JSON.stringify({ type: "text", text: "An unfinished thought without an end" }));
        ws.send(JSON.stringify({ type: "flush" }));
      });
      ws.on("message", (d, binary) => {
        if (binary) resolve();
        else if (JSON.parse(d.toString()).type === "end") end = JSON.parse(d.toString());
      });
    });
    // Audio comes before any `end`: the flush, nothing else, made the held text speakable.
    await firstAudio;
    expect(end).toBeUndefined();
    const closed = new Promise((r) => ws.once("close", r));
    ws.send(JSON.stringify({ type: "end" }));
    await closed;
    expect(end).toMatchObject({ reason: "done", textSpoken: "An unfinished thought without an end" });
  });

  it("refuses an upgrade without a key, before anything else", async () => {
    const ws = new WebSocket(`${stream().wsUrl}/v1/live`);
    const status = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
      ws.on("error", () => undefined);
    });
    expect(status).toBe(401);
  });
});
