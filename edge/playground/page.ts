/**
 * The playground served at GET /: type a prompt, watch tokens stream (SSE from /v1/completions or
 * /v1/chat/completions), see which path served (GPU node or WASM) and the node status from /healthz.
 * A string constant so the runtime-free app needs no file access; the page's own script is plain JS.
 */
import { PLAYGROUND_SCRIPT } from './script.ts';

export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>abq-serve playground</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
  h1 { font-size: 1.3rem; }
  textarea { width: 100%; min-height: 5rem; font: inherit; padding: .5rem; box-sizing: border-box; }
  .row { display: flex; flex-wrap: wrap; gap: .8rem; align-items: center; margin: .6rem 0; }
  label { font-size: .9rem; }
  input[type=number] { width: 5rem; }
  #output { white-space: pre-wrap; border: 1px solid #ccc; border-radius: 6px; padding: .8rem; min-height: 6rem; background: #fafafa; }
  #meta { color: #555; font-size: .85rem; }
  .error { color: #b00020; }
  table { border-collapse: collapse; font-size: .85rem; width: 100%; }
  th, td { border-bottom: 1px solid #ddd; padding: .25rem .5rem; text-align: left; }
  .up { color: #0a7f2e; } .down { color: #b00020; }
</style>
</head>
<body>
<h1>abq-serve playground</h1>
<textarea id="prompt" placeholder="Once upon a time">Once upon a time</textarea>
<div class="row">
  <label>model <select id="model"></select></label>
  <label>endpoint <select id="endpoint"><option value="completions">completions</option><option value="chat">chat</option></select></label>
  <label>max tokens <input id="max_tokens" type="number" min="1" value="64"></label>
  <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.8"></label>
  <label>seed <input id="seed" type="number" value="42"></label>
  <label>API key <input id="apikey" type="password" size="14" placeholder="(if required)"></label>
  <button id="go">Generate</button> <button id="stop" disabled>Stop</button>
</div>
<div id="output" aria-live="polite"></div>
<p id="meta"></p>
<h2 style="font-size:1rem">Nodes</h2>
<div id="nodes">loading...</div>
<script type="module">${PLAYGROUND_SCRIPT}</script>
</body>
</html>
`;
