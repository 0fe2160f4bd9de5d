// @ts-check
/**
 * The playground page served at `/`. Speak: pick a provider, model and voice, set rate, pitch and volume, type text or
 * SSML (the validator's problems are listed and the first is selected in the text), hear it while it streams, download
 * it. Jobs: submit long text, watch its progress, play the result with its subtitles as captions.
 * The API key stays in the browser (localStorage, or the `#key=` fragment, which is never sent to the server); the
 * page trades it for a short-lived token, so the audio URL it plays carries no key. The Jobs tab needs the job API on
 * the same origin (the local host, or a custom domain routing /v1/jobs to the speech function).
 */
/**
 * An element of the page by its id. The page has every id this script names; the element is typed loosely (`any`),
 * as the script reads `.value`, `.hidden` and the like from inputs, selects and panels alike.
 * @param {string} id
 * @returns {any}
 */
const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
};
/** @type {(el: string, text: string, error?: boolean) => void} */
const say = (el, text, error = false) => {
  $(el).textContent = text;
  $(el).className = `status${error ? " error" : ""}`;
};
/** @type {Record<string, string>} */
const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };
/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));
/** @param {unknown} s */
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ENTITIES[c] ?? c);
const fromHash = new URLSearchParams(location.hash.slice(1)).get("key");
if (fromHash) {
  localStorage.setItem("tts-key", fromHash);
  history.replaceState(null, "", location.pathname);
}
$("key").value = localStorage.getItem("tts-key") || "";
$("key").addEventListener("change", () => localStorage.setItem("tts-key", $("key").value));

for (const [tab, panel] of [
  ["tab-speak", "speak-panel"],
  ["tab-jobs", "jobs-panel"],
]) {
  $(tab).addEventListener("click", () => {
    for (const t of ["tab-speak", "tab-jobs"]) $(t).setAttribute("aria-selected", String(t === tab));
    $("speak-panel").hidden = panel !== "speak-panel";
    $("jobs-panel").hidden = panel !== "jobs-panel";
  });
}
for (const id of ["speechRate", "pitchRate", "volume"]) {
  $(id).addEventListener("input", () => {
    $(`${id}-v`).textContent = $(id).value;
  });
}
let maxChars = 4096;
const count = () => {
  $("count").textContent = `${Array.from($("text").value).length} / ${maxChars}`;
};
$("text").addEventListener("input", () => {
  count();
  $("problems").hidden = true;
});
count();

/**
 * What GET /v1/voices answers: every voice, and what each provider takes.
 * @typedef {{ id: string, provider: string, name?: string, nameZh?: string, type?: string, models?: string[], sampleRates?: number[], timestamps?: boolean }} Voice
 * @typedef {{ models?: string[], sampleRates?: number[] }} ProviderInfo
 * @type {{ voices: Voice[], providers: Record<string, ProviderInfo> }}
 */
let catalogue = { voices: [], providers: {} };
/** @type {(value: unknown, label: unknown, selected: boolean) => string} */
const option = (value, label, selected) =>
  `<option value="${esc(value)}"${selected ? " selected" : ""}>${esc(label)}</option>`;
/** @param {string} provider */
const voicesOf = (provider) => catalogue.voices.filter((v) => v.provider === provider);
const fillProvider = () => {
  const provider = $("provider").value;
  const info = catalogue.providers[provider] || {};
  const cosy = provider === "cosyvoice";
  const models = cosy
    ? [...new Set(voicesOf("cosyvoice").flatMap((v) => v.models))]
    : provider === "minimax"
      ? info.models || []
      : [];
  $("model").innerHTML = models.map((m, i) => option(m, m, i === 0)).join("") || option("", "—", true);
  $("model").disabled = models.length === 0;
  $("voice").hidden = provider === "minimax";
  $("voice-id").hidden = provider !== "minimax";
  if (provider === "minimax" && !$("voice-id").value) $("voice-id").value = "male-qn-qingse";
  fillVoices();
};
const fillVoices = () => {
  const provider = $("provider").value;
  const model = $("model").value;
  const voices = voicesOf(provider).filter((v) => !v.models || v.models.includes(model));
  const preferred = provider === "nls" ? "siqi" : voices[0]?.id;
  $("voice").innerHTML = voices
    .map((v) =>
      option(
        v.id,
        (v.name || v.id) + (v.nameZh ? ` ${v.nameZh}` : "") + (v.type ? ` — ${v.type}` : ""),
        v.id === preferred,
      ),
    )
    .join("");
  fillRates();
};
const fillRates = () => {
  const provider = $("provider").value;
  const v = voicesOf(provider).find((x) => x.id === $("voice").value);
  const rates = v?.sampleRates || catalogue.providers[provider]?.sampleRates || [16000];
  $("rate").innerHTML = rates.map((r) => option(r, r, r === 16000)).join("");
  const ssml = provider !== "minimax";
  $("mode").disabled = !ssml;
  if (!ssml) $("mode").value = "text";
};
fetch("/v1/voices")
  .then((r) => r.json())
  .then((body) => {
    catalogue = body;
    if (body.stream) {
      maxChars = body.stream.maxChars;
      count();
    }
    const providers = Object.entries(body.providers).filter(([, p]) => p.configured);
    $("provider").innerHTML = providers.map(([name]) => option(name, name, name === "nls")).join("");
    $("job-voice").innerHTML = voicesOf("nls")
      .filter((v) => v.timestamps)
      .map((v) => option(v.id, `${v.name} — ${v.type}`, v.id === "siqi"))
      .join("");
    fillProvider();
  })
  .catch(() => say("status", "Could not load the voice list.", true));
$("provider").addEventListener("change", fillProvider);
$("model").addEventListener("change", fillVoices);
$("voice").addEventListener("change", fillRates);
$("mode").addEventListener("change", () => {
  if ($("mode").value === "ssml" && !$("text").value.trim().startsWith("<speak"))
    $("text").value = `<speak>${esc($("text").value)}</speak>`;
});

/** Lists the validator's problems; clicking one (and, at first, the first) selects its place in the text. */
/** @param {Array<{ line: number, column: number, offset: number, message: string }>} positions */
const showProblems = (positions) => {
  const list = $("problems");
  list.innerHTML = positions
    .map((p, i) => `<li data-i="${i}">line ${p.line}, column ${p.column}: ${esc(p.message)}</li>`)
    .join("");
  list.hidden = positions.length === 0;
  /** @param {{ offset: number }} p */
  const mark = (p) => {
    const text = $("text");
    const end = text.value.indexOf(">", p.offset);
    text.focus();
    text.setSelectionRange(p.offset, end === -1 ? p.offset + 1 : end + 1);
  };
  for (const li of list.querySelectorAll("li"))
    li.addEventListener("click", () => mark(positions[Number(li.dataset.i)]));
  if (positions.length) mark(positions[0]);
};

/** @param {string} key */
const token = async (key) => {
  const minted = await fetch("/v1/tokens", {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ ttlSeconds: 600 }),
  });
  if (!minted.ok)
    throw new Error(minted.status === 401 ? "That API key was refused." : `Token request failed (${minted.status}).`);
  return (await minted.json()).token;
};

$("speak").addEventListener("click", async () => {
  const key = $("key").value.trim();
  if (!key) return say("status", "Enter an API key first.", true);
  say("status", "Synthesizing…");
  $("problems").hidden = true;
  let minted;
  try {
    minted = await token(key);
  } catch (e) {
    return say("status", messageOf(e), true);
  }
  const provider = $("provider").value;
  const params = new URLSearchParams({
    provider,
    format: $("format").value,
    sampleRate: $("rate").value,
    volume: $("volume").value,
    speechRate: $("speechRate").value,
    pitchRate: $("pitchRate").value,
    token: minted,
  });
  params.set($("mode").value === "ssml" ? "ssml" : "text", $("text").value);
  const voice = provider === "minimax" ? $("voice-id").value.trim() : $("voice").value;
  if (voice) params.set("voice", voice);
  if (!$("model").disabled && $("model").value) params.set("model", $("model").value);
  const url = `/v1/stream?${params}`;
  const player = $("player");
  // A long text does not fit in a URL (FC refuses a path over 4 KB): it is POSTed, and the MP3 played as it arrives
  // through Media Source Extensions (other formats once whole).
  if (url.length > 3500) return speakLong(params, player);
  // The stream endpoint answers a refusal as JSON before any audio: fetched again, it says what was wrong and where.
  player.onerror = async () => {
    // Nothing was made: no download of it stays on the page.
    $("download").hidden = true;
    const res = await fetch(url);
    const body = await res.json().catch(() => ({}));
    const error = body.error || {};
    say("status", error.message || "Playback failed.", true);
    if (error.positions) showProblems(error.positions);
  };
  player.onplaying = () => say("status", "Playing (streamed as it is synthesized).");
  player.onended = () => say("status", "Done.");
  player.src = url;
  $("download").href = url;
  $("download").download = `speech.${$("format").value}`;
  $("download").hidden = false;
  try {
    await player.play();
  } catch (e) {
    if (!player.error) say("status", `Press play to listen (${messageOf(e)}).`);
  }
});

/**
 * @param {URLSearchParams} params
 * @param {HTMLAudioElement} player
 */
async function speakLong(params, player) {
  /** @type {Record<string, unknown>} */
  const body = Object.fromEntries(params);
  const token = body.token;
  delete body.token;
  for (const k of ["sampleRate", "volume", "speechRate", "pitchRate"])
    if (body[k] !== undefined) body[k] = Number(body[k]);
  const res = await fetch("/v1/stream", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    $("download").hidden = true;
    const error = (await res.json().catch(() => ({}))).error || {};
    say("status", error.message || `Synthesis failed (${res.status}).`, true);
    if (error.positions) showProblems(error.positions);
    return;
  }
  player.onplaying = () => say("status", "Playing (streamed as it is synthesized).");
  player.onended = () => say("status", "Done.");
  $("download").hidden = true;
  if (body.format === "mp3" && window.MediaSource && MediaSource.isTypeSupported("audio/mpeg")) {
    const source = new MediaSource();
    player.src = URL.createObjectURL(source);
    await new Promise((r) => source.addEventListener("sourceopen", r, { once: true }));
    const buffer = source.addSourceBuffer("audio/mpeg");
    if (!res.body) throw new Error("the answer has no body");
    const reader = res.body.getReader();
    player.play().catch(() => {});
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer.appendBuffer(value);
      await new Promise((r) => buffer.addEventListener("updateend", r, { once: true }));
    }
    source.endOfStream();
  } else {
    player.src = URL.createObjectURL(await res.blob());
    player.play().catch(() => {});
  }
}

/** Forgets the last job's result: its player, download, bar, caption and cues (a new job, or an error, replaces them). */
function clearJob() {
  const player = $("job-player");
  player.pause();
  player.removeAttribute("src");
  for (const track of player.querySelectorAll("track")) track.remove();
  player.hidden = true;
  $("job-download").hidden = true;
  $("job-progress").hidden = true;
  $("job-progress").value = 0;
  $("job-caption").textContent = "";
  $("job-cues").replaceChildren();
  $("job-cues").hidden = true;
}

/**
 * Plays a finished job: its audio from the signed URL, its subtitles as a text track and as a list of cues, each of
 * which seeks to itself; the cue being spoken is shown and marked.
 * @param {any} job
 * @param {Record<string, string>} auth
 */
async function playJob(job, auth) {
  clearJob();
  const player = $("job-player");
  player.src = job.outputs.audio.url;
  $("job-download").href = job.outputs.audio.url;
  $("job-download").download = job.outputs.audio.key.split("/").pop();
  $("job-download").hidden = false;
  player.hidden = false;
  if (!job.outputs.vtt) return;
  // The cues come through the API (same origin, as a <track> requires), the audio from its signed URL.
  const vtt = await fetch(`/v1/jobs/${job.id}/subtitles?format=vtt`, { headers: auth });
  const track = document.createElement("track");
  track.kind = "captions";
  track.label = "Subtitles";
  track.srclang = "zh";
  track.default = true;
  track.src = URL.createObjectURL(new Blob([await vtt.text()], { type: "text/vtt" }));
  player.appendChild(track);
  // An audio element draws no captions: the track is read here, into the caption line and the cue list.
  track.track.mode = "hidden";
  track.addEventListener("load", () => {
    const list = $("job-cues");
    const cues = Array.from(track.track.cues ?? []);
    list.replaceChildren(
      ...cues.map((cue, i) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = `${cue.startTime.toFixed(1)} s  ${cue instanceof VTTCue ? cue.text : ""}`;
        button.addEventListener("click", () => {
          player.currentTime = cue.startTime;
          player.play().catch(() => {});
        });
        item.dataset.cue = String(i);
        item.appendChild(button);
        return item;
      }),
    );
    list.hidden = cues.length === 0;
  });
  track.track.addEventListener("cuechange", () => {
    const cue = track.track.activeCues?.[0];
    $("job-caption").textContent = cue instanceof VTTCue ? cue.text : "";
    const index = cue ? Array.from(track.track.cues ?? []).indexOf(cue) : -1;
    for (const item of $("job-cues").children) item.classList.toggle("active", item.dataset.cue === String(index));
  });
}

/** Lists this key's jobs, newest first, each finished one with its download: they outlive a reload of the page. */
async function listJobs() {
  const key = $("key").value.trim();
  if (!key) return;
  const res = await fetch("/v1/jobs?limit=20", { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) return;
  /** @type {{ jobs: any[] }} */
  const { jobs } = await res.json();
  const list = $("job-list");
  list.replaceChildren(
    ...jobs
      .sort((/** @type {any} */ a, /** @type {any} */ b) => b.createdAt.localeCompare(a.createdAt))
      .map((job) => {
        const item = document.createElement("li");
        item.textContent = `${job.createdAt.slice(0, 19).replace("T", " ")}  ${job.state}  ${job.characters} characters  `;
        if (job.outputs?.audio) {
          const play = document.createElement("button");
          play.type = "button";
          play.textContent = "Play";
          play.addEventListener("click", () => void playJob(job, { authorization: `Bearer ${key}` }));
          const link = document.createElement("a");
          link.href = job.outputs.audio.url;
          link.textContent = "Download";
          item.append(play, " ", link);
          if (job.book) {
            const open = document.createElement("button");
            open.type = "button";
            open.textContent = "Book";
            open.addEventListener("click", () => void showBook(job.id, { authorization: `Bearer ${key}` }));
            item.append(" ", open);
          }
        } else if (job.failure) item.append(`(${job.failure.reason})`);
        item.dataset.job = job.id;
        return item;
      }),
  );
}
$("tab-jobs").addEventListener("click", () => void listJobs());

/**
 * Submits `body` to `path` (the job API), follows the job with its progress bar until it ends, and answers it; or
 * undefined, with the reason on the status line, when it was refused or lost.
 * @param {string} path
 * @param {Record<string, unknown>} body
 * @param {Record<string, string>} auth
 * @returns {Promise<any>}
 */
async function submitAndFollow(path, body, auth) {
  say("job-status", "Submitting…");
  clearJob();
  const res = await fetch(path, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  let job = await res.json().catch(() => ({}));
  if (res.status === 404 && !job.error)
    return say("job-status", "The job API is not on this origin: deploy with TTS_DOMAIN (or use npm start).", true);
  if (!res.ok) return say("job-status", job.error?.message || `Submitting failed (${res.status}).`, true);
  const bar = $("job-progress");
  bar.hidden = false;
  while (job.state !== "done" && job.state !== "failed") {
    const p = job.progress;
    // The estimate moves within a part too (no provider reports a task's own progress); characters otherwise.
    bar.max = 100;
    bar.value = Math.round(100 * (p.estimate?.fractionDone ?? p.characters.synthesized / (p.characters.total || 1)));
    say(
      "job-status",
      `Job ${job.id}: ${job.state}, parts ${p.parts.done}/${p.parts.total}, ${p.characters.synthesized} of ${p.characters.total} characters${p.estimate ? `, about ${p.estimate.secondsLeft} s left` : ""}`,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const next = await fetch(`/v1/jobs/${job.id}`, { headers: auth });
    if (!next.ok) return say("job-status", `Lost the job (${next.status}).`, true);
    job = await next.json();
  }
  if (job.state === "failed") {
    clearJob();
    void listJobs();
    return say("job-status", `Job ${job.id} failed: ${job.failure.reason}`, true);
  }
  $("job-progress").value = 100;
  return job;
}

$("submit-job").addEventListener("click", async () => {
  const key = $("key").value.trim();
  if (!key) return say("job-status", "Enter an API key first.", true);
  const auth = { authorization: `Bearer ${key}` };
  const body = {
    text: $("job-text").value,
    provider: $("job-provider").value,
    voice: $("job-voice").value,
    format: $("job-format").value,
    subtitles: ["vtt"],
  };
  const job = await submitAndFollow("/v1/jobs", body, auth);
  if (!job) return;
  await playJob(job, auth);
  void listJobs();
  say(
    "job-status",
    `Job ${job.id} done: ${job.progress.characters.total} characters${job.subtitles?.reason ? ` (${job.subtitles.reason})` : ""}`,
  );
});

/** A file's bytes in base64 (an EPUB goes to the API inside JSON). @param {ArrayBuffer} buffer */
function base64Of(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

$("submit-book").addEventListener("click", async () => {
  const key = $("key").value.trim();
  if (!key) return say("job-status", "Enter an API key first.", true);
  /** @type {File | undefined} */
  const file = $("book-file").files?.[0];
  if (!file) return say("job-status", "Choose an .epub or .md file first.", true);
  const auth = { authorization: `Bearer ${key}` };
  const book = file.name.endsWith(".md")
    ? { markdown: await file.text() }
    : { epub: base64Of(await file.arrayBuffer()) };
  $("book-view").hidden = true;
  const job = await submitAndFollow(
    "/v1/books",
    { ...book, profile: $("book-profile").value, voice: $("job-voice").value, subtitles: ["vtt"] },
    auth,
  );
  if (!job) return;
  void listJobs();
  say("job-status", `Book ${job.id} done: ${job.progress.characters.total} characters`);
  await showBook(job.id, auth);
});

/**
 * A check as a table cell: its value, its limit, and whether it passed.
 * @param {{ value: number | null, limit: string, pass: boolean } | undefined} check (null: digital silence, −∞ dB)
 * @param {string} [name] said before the value
 */
const checkCell = (check, name = "") =>
  check
    ? `<td class="${check.pass ? "pass" : "fail"}">${check.pass ? "✓" : "✗"} ${esc(name)} ${check.value === null ? "−∞" : esc(check.value)} <small>${esc(check.limit)}</small></td>`
    : "<td>—</td>";

/**
 * The book view: its chapters, each playable, the chapter's text with the sentence being spoken marked (from the
 * coverage map), and the conformance report with every figure's pass or fail.
 * @param {string} id
 * @param {Record<string, string>} auth
 */
async function showBook(id, auth) {
  const res = await fetch(`/v1/jobs/${id}/book`, { headers: auth });
  if (!res.ok) return say("job-status", `Could not read book ${id} (${res.status}).`, true);
  const book = await res.json();
  $("book-title").textContent =
    `${book.title || "Untitled"}${book.author ? ` — ${book.author}` : ""} (${book.profile})`;
  $("book-m4b").href = book.m4b;
  $("book-summary").textContent = book.conforms
    ? `Every figure passes (${book.chapters.length} chapters, target ${book.targetLufs} LUFS).`
    : `Failed: ${book.failed.join(", ")}`;
  $("book-summary").className = `status${book.conforms ? "" : " error"}`;
  const player = $("book-player");
  /** @param {number} i */
  const play = (i) => {
    const chapter = book.chapters[i];
    for (const item of $("book-chapters").children) item.classList.toggle("active", item.dataset.chapter === String(i));
    $("book-text").replaceChildren(
      ...chapter.sentences.map((/** @type {any} */ s, /** @type {number} */ k) => {
        const span = document.createElement("span");
        span.textContent = `${s.text} `;
        span.dataset.sentence = String(k);
        return span;
      }),
    );
    player.src = chapter.audio;
    player.ontimeupdate = () => {
      const ms = player.currentTime * 1000;
      chapter.sentences.forEach((/** @type {any} */ s, /** @type {number} */ k) => {
        $("book-text").children[k]?.classList.toggle("spoken", ms >= s.beginMs && ms < s.endMs);
      });
    };
    player.play().catch(() => {});
  };
  $("book-chapters").replaceChildren(
    ...book.chapters.map((/** @type {any} */ c, /** @type {number} */ i) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `${c.title} (${Math.round((c.endMs - c.startMs) / 1000)} s)`;
      button.addEventListener("click", () => play(i));
      item.dataset.chapter = String(i);
      item.appendChild(button);
      return item;
    }),
  );
  const rows = book.chapters.map(
    (/** @type {any} */ c) =>
      `<tr><th>${esc(c.title)}</th><td>${esc(c.gainDb)} dB</td>${["loudness", "truePeak", "noiseFloor", "rms"].map((k) => checkCell(c.checks?.[k])).join("")}</tr>`,
  );
  $("book-report").innerHTML =
    "<tr><th>Chapter</th><th>Gain</th><th>Loudness</th><th>True peak</th><th>Noise floor</th><th>RMS</th></tr>" +
    rows.join("") +
    `<tr><th>Book</th><td></td>${checkCell(book.spread, "spread")}${checkCell(book.chapterCount, "chapters")}</tr>`;
  $("book-view").hidden = false;
}
