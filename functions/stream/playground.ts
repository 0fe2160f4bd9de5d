/**
 * The playground page served at `/`: type text, pick a voice, hear it while it streams, download it.
 * The API key stays in the browser (localStorage, or the `#key=` fragment, which is never sent to the server); the
 * page trades it for a short-lived token, so the audio URL it plays carries no key.
 */
export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Speech playground</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
  h1 { font-size: 1.4rem; }
  label { display: block; margin-top: .8rem; font-weight: 600; }
  textarea, input, select { width: 100%; box-sizing: border-box; font: inherit; padding: .4rem; }
  textarea { min-height: 7rem; }
  .row { display: flex; gap: 1rem; }
  .row > div { flex: 1; }
  button { margin-top: 1rem; font: inherit; padding: .5rem 1.4rem; cursor: pointer; }
  #status { margin-top: .8rem; min-height: 1.5rem; color: #555; }
  #status.error { color: #b00020; }
  audio { width: 100%; margin-top: .8rem; }
  small { color: #666; }
</style>
</head>
<body>
<h1>Speech playground</h1>
<label for="key">API key</label>
<input id="key" type="password" autocomplete="off" placeholder="dev-key">
<label for="text">Text <small id="count">0 / 300</small></label>
<textarea id="text">你好，欢迎使用语音合成。Hello, this is streamed speech.</textarea>
<div class="row">
  <div><label for="voice">Voice</label><select id="voice"></select></div>
  <div><label for="format">Format</label><select id="format"><option>mp3</option><option>wav</option></select></div>
  <div><label for="rate">Sample rate</label><select id="rate"></select></div>
</div>
<button id="speak">Speak</button> <a id="download" hidden download>Download</a>
<div id="status" role="status"></div>
<audio id="player" controls></audio>
<script type="module">
const $ = (id) => document.getElementById(id);
const status = (text, error = false) => { $("status").textContent = text; $("status").className = error ? "error" : ""; };
const fromHash = new URLSearchParams(location.hash.slice(1)).get("key");
if (fromHash) { localStorage.setItem("tts-key", fromHash); history.replaceState(null, "", location.pathname); }
$("key").value = localStorage.getItem("tts-key") || "";
$("key").addEventListener("change", () => localStorage.setItem("tts-key", $("key").value));
const count = () => { $("count").textContent = Array.from($("text").value).length + " / 300"; };
$("text").addEventListener("input", count); count();

let voices = [];
const fillRates = () => {
  const v = voices.find((x) => x.id === $("voice").value);
  $("rate").innerHTML = (v ? v.sampleRates : [16000]).map((r) => '<option' + (r === 16000 ? " selected" : "") + ">" + r + "</option>").join("");
};
fetch("/v1/voices").then((r) => r.json()).then((body) => {
  voices = body.voices.filter((v) => v.provider === "nls");
  $("voice").innerHTML = voices.map((v) => '<option value="' + v.id + '"' + (v.id === "siqi" ? " selected" : "") + ">" + v.name + (v.nameZh ? " " + v.nameZh : "") + " — " + v.type + "</option>").join("");
  fillRates();
}).catch(() => status("Could not load the voice list.", true));
$("voice").addEventListener("change", fillRates);

$("speak").addEventListener("click", async () => {
  const key = $("key").value.trim();
  if (!key) return status("Enter an API key first.", true);
  status("Synthesizing…");
  const minted = await fetch("/v1/tokens", { method: "POST", headers: { authorization: "Bearer " + key, "content-type": "application/json" }, body: JSON.stringify({ ttlSeconds: 600 }) });
  if (!minted.ok) return status(minted.status === 401 ? "That API key was refused." : "Token request failed (" + minted.status + ").", true);
  const { token } = await minted.json();
  const params = new URLSearchParams({ text: $("text").value, voice: $("voice").value, format: $("format").value, sampleRate: $("rate").value, token });
  const url = "/v1/stream?" + params;
  // A quick HEAD-less check: the stream endpoint answers errors as JSON before any audio.
  const player = $("player");
  player.onerror = async () => {
    const res = await fetch(url);
    const body = await res.json().catch(() => ({}));
    status((body.error && body.error.message) || "Playback failed.", true);
  };
  player.onplaying = () => status("Playing (streamed as it is synthesized).");
  player.onended = () => status("Done.");
  player.src = url;
  $("download").href = url;
  $("download").download = "speech." + $("format").value;
  $("download").hidden = false;
  try { await player.play(); } catch (e) { status("Press play to listen (" + e.message + ").", false); }
});
</script>
</body>
</html>
`;
