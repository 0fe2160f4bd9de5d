/**
 * The playground page served at `/`. Speak: pick a provider, model and voice, set rate, pitch and volume, type text or
 * SSML (the validator's problems are listed and the first is selected in the text), hear it while it streams, download
 * it. Jobs: submit long text, watch its progress, play the result with its subtitles as captions.
 * The API key stays in the browser (localStorage, or the `#key=` fragment, which is never sent to the server); the
 * page trades it for a short-lived token, so the audio URL it plays carries no key. The Jobs tab needs the job API on
 * the same origin (the local host, or a custom domain routing /v1/jobs to the speech function).
 */
export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Speech playground</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
  h1 { font-size: 1.4rem; margin-bottom: .4rem; }
  label { display: block; margin-top: .8rem; font-weight: 600; }
  textarea, input, select { width: 100%; box-sizing: border-box; font: inherit; padding: .4rem; }
  input[type=range] { padding: 0; }
  textarea { min-height: 8rem; font-family: ui-monospace, monospace; font-size: .95rem; }
  .row { display: flex; gap: 1rem; flex-wrap: wrap; }
  .row > div { flex: 1; min-width: 8rem; }
  button { margin-top: 1rem; font: inherit; padding: .5rem 1.4rem; cursor: pointer; }
  nav button { margin: 0 .3rem 0 0; border: 1px solid #bbb; background: #f4f4f6; }
  nav button[aria-selected=true] { background: #1d1d1f; color: #fff; }
  .status { margin-top: .8rem; min-height: 1.5rem; color: #555; }
  .status.error { color: #b00020; }
  #problems { color: #b00020; margin: .4rem 0 0; padding-left: 1.2rem; font-size: .9rem; }
  #problems li { cursor: pointer; }
  audio, video { width: 100%; margin-top: .8rem; }
  video { background: #111; max-height: 14rem; }
  progress { width: 100%; }
  small { color: #666; font-weight: normal; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<h1>Speech playground</h1>
<label for="key">API key</label>
<input id="key" type="password" autocomplete="off" placeholder="dev-key">
<nav role="tablist" style="margin-top:1rem">
  <button id="tab-speak" role="tab" aria-selected="true">Speak</button><button id="tab-jobs" role="tab" aria-selected="false">Jobs (long text)</button>
</nav>

<section id="speak-panel">
  <div class="row">
    <div><label for="provider">Provider</label><select id="provider"></select></div>
    <div><label for="model">Model</label><select id="model"></select></div>
    <div><label for="voice">Voice</label><select id="voice"></select><input id="voice-id" hidden placeholder="voice_id, e.g. male-qn-qingse"></div>
  </div>
  <div class="row">
    <div><label for="format">Format</label><select id="format"><option>mp3</option><option>wav</option></select></div>
    <div><label for="rate">Sample rate</label><select id="rate"></select></div>
    <div><label for="mode">Input</label><select id="mode"><option value="text">Text</option><option value="ssml">SSML</option></select></div>
  </div>
  <div class="row">
    <div><label for="speechRate">Rate <small id="speechRate-v">0</small></label><input id="speechRate" type="range" min="-500" max="500" step="50" value="0"></div>
    <div><label for="pitchRate">Pitch <small id="pitchRate-v">0</small></label><input id="pitchRate" type="range" min="-500" max="500" step="50" value="0"></div>
    <div><label for="volume">Volume <small id="volume-v">50</small></label><input id="volume" type="range" min="0" max="100" step="5" value="50"></div>
  </div>
  <label for="text">Text <small id="count">0 / 4096</small></label>
  <textarea id="text" spellcheck="false">你好，欢迎使用语音合成。Hello, this is streamed speech.</textarea>
  <ul id="problems" hidden></ul>
  <button id="speak">Speak</button> <a id="download" hidden download>Download</a>
  <div id="status" class="status" role="status"></div>
  <audio id="player" controls></audio>
</section>

<section id="jobs-panel" hidden>
  <div class="row">
    <div><label for="job-provider">Provider</label><select id="job-provider"><option value="nls">nls (long-text)</option><option value="ice">ice</option></select></div>
    <div><label for="job-voice">Voice</label><select id="job-voice"></select></div>
    <div><label for="job-format">Format</label><select id="job-format"><option>mp3</option><option>wav</option></select></div>
  </div>
  <label for="job-text">Long text <small>(any length: it is split at sentence ends and stitched)</small></label>
  <textarea id="job-text">第一章。春天来了，花开了。Spring has come, and the birds are singing. 我们一起去公园散步吧。</textarea>
  <button id="submit-job">Submit job</button>
  <div id="job-status" class="status" role="status"></div>
  <progress id="job-progress" value="0" max="1" hidden></progress>
  <video id="job-player" controls hidden></video>
  <div id="job-caption" class="status" aria-live="polite"></div>
</section>

<script type="module">
const $ = (id) => document.getElementById(id);
const say = (el, text, error = false) => { $(el).textContent = text; $(el).className = "status" + (error ? " error" : ""); };
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const fromHash = new URLSearchParams(location.hash.slice(1)).get("key");
if (fromHash) { localStorage.setItem("tts-key", fromHash); history.replaceState(null, "", location.pathname); }
$("key").value = localStorage.getItem("tts-key") || "";
$("key").addEventListener("change", () => localStorage.setItem("tts-key", $("key").value));

for (const [tab, panel] of [["tab-speak", "speak-panel"], ["tab-jobs", "jobs-panel"]]) {
  $(tab).addEventListener("click", () => {
    for (const t of ["tab-speak", "tab-jobs"]) $(t).setAttribute("aria-selected", String(t === tab));
    $("speak-panel").hidden = panel !== "speak-panel";
    $("jobs-panel").hidden = panel !== "jobs-panel";
  });
}
for (const id of ["speechRate", "pitchRate", "volume"]) {
  $(id).addEventListener("input", () => { $(id + "-v").textContent = $(id).value; });
}
let maxChars = 4096;
const count = () => { $("count").textContent = Array.from($("text").value).length + " / " + maxChars; };
$("text").addEventListener("input", () => { count(); $("problems").hidden = true; });
count();

let catalogue = { voices: [], providers: {} };
const option = (value, label, selected) => '<option value="' + esc(value) + '"' + (selected ? " selected" : "") + ">" + esc(label) + "</option>";
const voicesOf = (provider) => catalogue.voices.filter((v) => v.provider === provider);
const fillProvider = () => {
  const provider = $("provider").value;
  const info = catalogue.providers[provider] || {};
  const cosy = provider === "cosyvoice";
  const models = cosy ? [...new Set(voicesOf("cosyvoice").flatMap((v) => v.models))] : provider === "minimax" ? info.models || [] : [];
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
  const preferred = provider === "nls" ? "siqi" : voices[0] && voices[0].id;
  $("voice").innerHTML = voices.map((v) => option(v.id, (v.name || v.id) + (v.nameZh ? " " + v.nameZh : "") + (v.type ? " — " + v.type : ""), v.id === preferred)).join("");
  fillRates();
};
const fillRates = () => {
  const provider = $("provider").value;
  const v = voicesOf(provider).find((x) => x.id === $("voice").value);
  const rates = (v && v.sampleRates) || (catalogue.providers[provider] || {}).sampleRates || [16000];
  $("rate").innerHTML = rates.map((r) => option(r, r, r === 16000)).join("");
  const ssml = provider !== "minimax";
  $("mode").disabled = !ssml;
  if (!ssml) $("mode").value = "text";
};
fetch("/v1/voices").then((r) => r.json()).then((body) => {
  catalogue = body;
  if (body.stream) { maxChars = body.stream.maxChars; count(); }
  const providers = Object.entries(body.providers).filter(([, p]) => p.configured);
  $("provider").innerHTML = providers.map(([name]) => option(name, name, name === "nls")).join("");
  $("job-voice").innerHTML = voicesOf("nls").filter((v) => v.timestamps).map((v) => option(v.id, v.name + " — " + v.type, v.id === "siqi")).join("");
  fillProvider();
}).catch(() => say("status", "Could not load the voice list.", true));
$("provider").addEventListener("change", fillProvider);
$("model").addEventListener("change", fillVoices);
$("voice").addEventListener("change", fillRates);
$("mode").addEventListener("change", () => {
  if ($("mode").value === "ssml" && !$("text").value.trim().startsWith("<speak")) $("text").value = "<speak>" + esc($("text").value) + "</speak>";
});

/** Lists the validator's problems; clicking one (and, at first, the first) selects its place in the text. */
const showProblems = (positions) => {
  const list = $("problems");
  list.innerHTML = positions.map((p, i) => '<li data-i="' + i + '">line ' + p.line + ", column " + p.column + ": " + esc(p.message) + "</li>").join("");
  list.hidden = positions.length === 0;
  const mark = (p) => {
    const text = $("text");
    const end = text.value.indexOf(">", p.offset);
    text.focus();
    text.setSelectionRange(p.offset, end === -1 ? p.offset + 1 : end + 1);
  };
  for (const li of list.querySelectorAll("li")) li.addEventListener("click", () => mark(positions[Number(li.dataset.i)]));
  if (positions.length) mark(positions[0]);
};

const token = async (key) => {
  const minted = await fetch("/v1/tokens", { method: "POST", headers: { authorization: "Bearer " + key, "content-type": "application/json" }, body: JSON.stringify({ ttlSeconds: 600 }) });
  if (!minted.ok) throw new Error(minted.status === 401 ? "That API key was refused." : "Token request failed (" + minted.status + ").");
  return (await minted.json()).token;
};

$("speak").addEventListener("click", async () => {
  const key = $("key").value.trim();
  if (!key) return say("status", "Enter an API key first.", true);
  say("status", "Synthesizing…");
  $("problems").hidden = true;
  let minted;
  try { minted = await token(key); } catch (e) { return say("status", e.message, true); }
  const provider = $("provider").value;
  const params = new URLSearchParams({ provider, format: $("format").value, sampleRate: $("rate").value, volume: $("volume").value, speechRate: $("speechRate").value, pitchRate: $("pitchRate").value, token: minted });
  params.set($("mode").value === "ssml" ? "ssml" : "text", $("text").value);
  const voice = provider === "minimax" ? $("voice-id").value.trim() : $("voice").value;
  if (voice) params.set("voice", voice);
  if (!$("model").disabled && $("model").value) params.set("model", $("model").value);
  const url = "/v1/stream?" + params;
  const player = $("player");
  // A long text does not fit in a URL (FC refuses a path over 4 KB): it is POSTed, and the MP3 played as it arrives
  // through Media Source Extensions (other formats once whole).
  if (url.length > 3500) return speakLong(params, player);
  // The stream endpoint answers a refusal as JSON before any audio: fetched again, it says what was wrong and where.
  player.onerror = async () => {
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
  $("download").download = "speech." + $("format").value;
  $("download").hidden = false;
  try { await player.play(); } catch (e) { if (!player.error) say("status", "Press play to listen (" + e.message + ")."); }
});

async function speakLong(params, player) {
  const body = Object.fromEntries(params);
  const token = body.token;
  delete body.token;
  for (const k of ["sampleRate", "volume", "speechRate", "pitchRate"]) if (body[k] !== undefined) body[k] = Number(body[k]);
  const res = await fetch("/v1/stream", { method: "POST", headers: { authorization: "Bearer " + token, "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) {
    const error = (await res.json().catch(() => ({}))).error || {};
    say("status", error.message || "Synthesis failed (" + res.status + ").", true);
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

$("submit-job").addEventListener("click", async () => {
  const key = $("key").value.trim();
  if (!key) return say("job-status", "Enter an API key first.", true);
  const auth = { authorization: "Bearer " + key };
  const body = { text: $("job-text").value, provider: $("job-provider").value, voice: $("job-voice").value, format: $("job-format").value, subtitles: ["vtt"] };
  say("job-status", "Submitting…");
  $("job-player").hidden = true;
  const res = await fetch("/v1/jobs", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(body) });
  let job = await res.json().catch(() => ({}));
  if (res.status === 404 && !job.error) return say("job-status", "The job API is not on this origin: deploy with TTS_DOMAIN (or use npm start).", true);
  if (!res.ok) return say("job-status", (job.error && job.error.message) || "Submitting failed (" + res.status + ").", true);
  const bar = $("job-progress");
  bar.hidden = false;
  while (job.state !== "done" && job.state !== "failed") {
    const p = job.progress;
    bar.max = p.characters.total || 1;
    bar.value = p.characters.synthesized;
    say("job-status", "Job " + job.id + ": " + job.state + ", parts " + p.parts.done + "/" + p.parts.total + ", " + p.characters.synthesized + " of " + p.characters.total + " characters" + (p.estimate ? ", about " + p.estimate.secondsLeft + " s left" : ""));
    await new Promise((r) => setTimeout(r, 1000));
    const next = await fetch("/v1/jobs/" + job.id, { headers: auth });
    if (!next.ok) return say("job-status", "Lost the job (" + next.status + ").", true);
    job = await next.json();
  }
  if (job.state === "failed") return say("job-status", "Job " + job.id + " failed: " + job.failure.reason, true);
  bar.value = bar.max;
  const player = $("job-player");
  player.innerHTML = "";
  player.src = job.outputs.audio.url;
  if (job.outputs.vtt) {
    // The captions come through the API (same origin, as a <track> requires), the audio from its signed URL.
    const vtt = await fetch("/v1/jobs/" + job.id + "/subtitles?format=vtt", { headers: auth });
    const track = document.createElement("track");
    track.kind = "captions";
    track.label = "Subtitles";
    track.srclang = "zh";
    track.default = true;
    track.src = URL.createObjectURL(new Blob([await vtt.text()], { type: "text/vtt" }));
    player.appendChild(track);
    track.track.mode = "showing";
    track.track.addEventListener("cuechange", () => {
      const cue = track.track.activeCues && track.track.activeCues[0];
      $("job-caption").textContent = cue ? cue.text : "";
    });
  }
  player.hidden = false;
  say("job-status", "Job " + job.id + " done: " + job.progress.characters.total + " characters" + (job.subtitles && job.subtitles.reason ? " (" + job.subtitles.reason + ")" : ""));
});
</script>
</body>
</html>
`;
