/**
 * The console's files, shipped as strings so the compiled package needs no asset copy step.
 * Plain DOM code (textContent only: nothing the service sends is parsed as HTML).
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RustyClaw console</title>
<link rel="stylesheet" href="/console/app.css">
<script src="/console/app.js" defer></script>
</head>
<body>
<header><h1>RustyClaw</h1><span id="conn" class="off">not connected</span></header>
<section id="login">
  <label for="token">Token <small>(from &lt;data_dir&gt;/run/endpoint.json)</small></label>
  <input id="token" type="password" autocomplete="off" spellcheck="false">
  <button id="connect">Connect</button>
  <p id="login-error" class="error"></p>
</section>
<main id="app" hidden>
  <section id="chat">
    <h2>Chat <select id="agent"></select> <input id="session" value="console" size="10" aria-label="session"></h2>
    <div id="log" aria-live="polite"></div>
    <form id="send"><input id="msg" autocomplete="off" placeholder="Message"><button>Send</button><button type="button" id="cancel">Cancel</button></form>
  </section>
  <section id="tree"><h2>Actors</h2><table><thead><tr><th>path</th><th>thread</th><th>state</th><th>restarts</th><th>mailbox</th><th>handled</th></tr></thead><tbody id="actors"></tbody></table></section>
  <section id="jobs"><h2>Jobs</h2><ul id="joblist"></ul><h2>Routines</h2><ul id="routinelist"></ul></section>
  <section id="usage"><h2>Usage</h2><table><tbody id="usagerows"></tbody></table></section>
</main>
</body>
</html>
`;

export const CONSOLE_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
header{display:flex;gap:1em;align-items:center;padding:.5em 1em;background:#222;color:#eee}
header h1{font-size:1.1em;margin:0}
.off{color:#f88}.on{color:#8f8}
section{padding:.5em 1em}
main{display:grid;grid-template-columns:1fr 1fr;gap:.5em}
#log{height:20em;overflow:auto;background:#fff;border:1px solid #ccc;padding:.5em;white-space:pre-wrap}
.user{color:#036}.assistant{color:#222}.tool{color:#777;font-size:.9em}.error{color:#b00}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:2px 6px;text-align:left;font-size:.9em}
tr.changed{background:#ffd}
form{display:flex;gap:.3em}#msg{flex:1}
`;

export const CONSOLE_JS = `'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem('rustyclaw.token') || '';
  let current = null;
  const auth = () => ({ authorization: 'Bearer ' + token });
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const line = (cls, text) => { const d = el('div', cls, text); $('log').append(d); $('log').scrollTop = 1e9; return d; };

  async function api(path, opts = {}) {
    const r = await fetch(path, { ...opts, headers: { ...auth(), ...(opts.body ? { 'content-type': 'application/json' } : {}), ...(opts.headers || {}) } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((body.error && (body.error.message || body.error.code)) || ('HTTP ' + r.status));
    return body;
  }

  /** Server-sent events over fetch (EventSource cannot send the Authorization header). */
  async function events() {
    for (;;) {
      try {
        const r = await fetch('/api/events', { headers: auth() });
        if (!r.ok) throw new Error('HTTP ' + r.status);
        $('conn').textContent = 'live'; $('conn').className = 'on';
        const reader = r.body.getReader(); const dec = new TextDecoder(); let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\\n\\n')) >= 0) {
            const block = buf.slice(0, i); buf = buf.slice(i + 2);
            let ev = 'message'; let data = '';
            for (const l of block.split('\\n')) { if (l.startsWith('event: ')) ev = l.slice(7); else if (l.startsWith('data: ')) data += l.slice(6); }
            if (data) onEvent(ev, JSON.parse(data));
          }
        }
      } catch (e) { $('conn').textContent = 'reconnecting: ' + e.message; $('conn').className = 'off'; }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  const seen = new Map();
  function onEvent(ev, d) {
    if (ev === 'status') {
      const rows = d.actors.map((a) => {
        const tr = el('tr'); tr.dataset.path = a.path;
        for (const v of [a.path, a.thread, a.state, a.restarts, a.mailbox, a.handled]) tr.append(el('td', '', String(v)));
        const key = a.state + '/' + a.restarts; if (seen.has(a.path) && seen.get(a.path) !== key) tr.className = 'changed'; seen.set(a.path, key);
        return tr;
      });
      $('actors').replaceChildren(...rows);
    } else if (ev === 'agent' && current && d.request_id === current.id) {
      if (d.kind === 'text' && d.text) { current.out.textContent += d.text; current.streamed += d.text; }
      else if (d.kind === 'tool_start') line('tool', '⚙ ' + d.tool + ' ' + JSON.stringify(d.args ?? {}));
      else if (d.kind === 'tool_end') line('tool', (d.ok ? '✓ ' : '✗ ') + d.tool + ' → ' + String(d.result ?? '').slice(0, 200));
      else if (d.kind === 'error' && !d.fatal) line('tool', '! ' + d.code + ': ' + d.error);
    } else if (ev === 'job') { void loadJobs(); }
  }

  async function loadJobs() {
    const [jobs, routines] = await Promise.all([api('/api/jobs?limit=20').catch(() => ({ jobs: [] })), api('/api/routines').catch(() => ({ routines: [] }))]);
    $('joblist').replaceChildren(...jobs.jobs.map((j) => el('li', '', j.id + ' ' + j.state + ' ' + (j.routine_id || j.purpose || ''))));
    $('routinelist').replaceChildren(...routines.routines.map((r) => el('li', '', r.id + ' (' + r.trigger.type + ')' + (r.enabled === false ? ' disabled' : ''))));
  }
  async function loadUsage() {
    const u = await api('/api/usage').catch(() => ({ rows: [] }));
    const rows = (u.rows || []).map((r) => { const tr = el('tr'); tr.append(el('td', '', Object.values(r.key || {}).join(' / ')), el('td', '', (r.input_tokens ?? 0) + '+' + (r.output_tokens ?? 0) + ' tokens'), el('td', '', '$' + Number(r.cost_usd ?? 0).toFixed(5))); return tr; });
    $('usagerows').replaceChildren(...rows);
  }

  async function send(text) {
    const agent = $('agent').value; const session = $('session').value || 'console';
    line('user', 'you> ' + text);
    const id = 'console-' + crypto.randomUUID();
    current = { id, agent, session, out: line('assistant', ''), streamed: '' };
    try {
      const r = await api('/api/agents/' + encodeURIComponent(agent) + '/messages', { method: 'POST', body: JSON.stringify({ text, session, request_id: id }) });
      if (!current.streamed.endsWith(r.text)) current.out.textContent += r.text;
      line('tool', '[' + r.usage.provider + '/' + r.usage.model + ' · ' + r.usage.input_tokens + '+' + r.usage.output_tokens + ' tokens]');
    } catch (e) { line('error', 'error: ' + e.message); }
    current = null; void loadUsage();
  }

  async function start() {
    try {
      const a = await api('/api/agents');
      sessionStorage.setItem('rustyclaw.token', token);
      $('agent').replaceChildren(...a.agents.map((x) => el('option', '', x.id)));
      $('login').hidden = true; $('app').hidden = false;
      void events(); void loadJobs(); void loadUsage();
    } catch (e) { $('login-error').textContent = e.message; }
  }

  $('connect').addEventListener('click', () => { token = $('token').value.trim(); void start(); });
  $('send').addEventListener('submit', (e) => { e.preventDefault(); const t = $('msg').value.trim(); if (t && !current) { $('msg').value = ''; void send(t); } });
  $('cancel').addEventListener('click', () => { if (current) void api('/api/agents/' + encodeURIComponent(current.agent) + '/cancel', { method: 'POST', body: JSON.stringify({ request_id: current.id }) }); });
  if (token) void start();
})();
`;
