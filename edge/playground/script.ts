/** The playground's browser script (plain JS in a string; it only uses fetch and the DOM). */
export const PLAYGROUND_SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const keyBox = $('apikey');
keyBox.value = localStorage.getItem('abq-key') ?? '';
const headers = () => {
  localStorage.setItem('abq-key', keyBox.value);
  const h = { 'content-type': 'application/json' };
  if (keyBox.value) h.authorization = 'Bearer ' + keyBox.value;
  return h;
};
let controller;

async function refreshNodes() {
  try {
    const res = await fetch('/healthz');
    const h = await res.json();
    const select = $('model');
    if (select.options.length === 0) for (const m of h.models) select.add(new Option(m, m));
    const rows = h.nodes.map((n) => '<tr><td>' + n.id + '</td><td class="' + (n.status === 'up' ? 'up' : 'down') + '">' + n.status +
      '</td><td>' + n.breaker + '</td><td>' + n.outstanding + '</td><td>' + n.queue_depth + '</td><td>' + n.models.join(', ') + '</td></tr>').join('');
    const wasm = h.wasm.map((w) => w.id).join(', ') || 'none';
    $('nodes').innerHTML = '<table><tr><th>node</th><th>status</th><th>breaker</th><th>in flight</th><th>queue</th><th>models</th></tr>' +
      (rows || '<tr><td colspan="6">no GPU nodes configured</td></tr>') + '</table><p id="wasm">WASM fallback on the edge: ' + wasm + '</p>';
  } catch (e) {
    $('nodes').textContent = 'status unavailable: ' + e.message;
  }
}

async function generate() {
  const out = $('output');
  out.textContent = '';
  out.classList.remove('error');
  $('meta').textContent = '';
  controller = new AbortController();
  $('go').disabled = true; $('stop').disabled = false;
  const chat = $('endpoint').value === 'chat';
  const body = { model: $('model').value, max_tokens: Number($('max_tokens').value), temperature: Number($('temperature').value),
    seed: Number($('seed').value), stream: true, stream_options: { include_usage: true } };
  if (chat) body.messages = [{ role: 'user', content: $('prompt').value }]; else body.prompt = $('prompt').value;
  const started = performance.now();
  let firstAt = 0, pieces = 0, usage;
  try {
    const res = await fetch(chat ? '/v1/chat/completions' : '/v1/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body), signal: controller.signal });
    if (!res.ok) { const e = await res.json(); throw new Error(e.error ? e.error.message : res.statusText); }
    const servedBy = res.headers.get('x-abq-served-by') + ' (' + res.headers.get('x-abq-backend') + ')';
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, i); buf = buf.slice(i + 2);
        const data = event.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (!data || data === '[DONE]') continue;
        const msg = JSON.parse(data);
        if (msg.error) throw new Error(msg.error.message);
        if (msg.usage) usage = msg.usage;
        const c = msg.choices[0];
        const text = c ? (chat ? (c.delta.content ?? '') : c.text) : '';
        if (text) { if (!firstAt) firstAt = performance.now(); out.textContent += text; pieces++; }
      }
    }
    const ms = performance.now() - started;
    $('meta').textContent = 'served by ' + servedBy + ' · first token ' + (firstAt - started).toFixed(0) + ' ms · ' + (usage ? usage.completion_tokens + ' tokens' : pieces + ' pieces') + ' in ' + ms.toFixed(0) + ' ms';
    $('meta').dataset.done = 'true';
  } catch (e) {
    if (e.name !== 'AbortError') { out.classList.add('error'); out.textContent += '\n[error] ' + e.message; }
  } finally {
    $('go').disabled = false; $('stop').disabled = true;
    refreshNodes();
  }
}

$('go').addEventListener('click', generate);
$('stop').addEventListener('click', () => controller && controller.abort());
refreshNodes();
setInterval(refreshNodes, 3000);
`;
