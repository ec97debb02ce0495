/**
 * A program with a stock NATS client and no RustyClaw code: discovers a RustyClaw cluster, asks an
 * agent and follows its stream events, submits a job and follows it to the end (docs/nats.md).
 *
 *   node dist/examples/nats-client.js [NATS_URL] [CLUSTER] [MESSAGE]
 *
 * Defaults: nats://127.0.0.1:4222, cluster `default`, message "hello". Only `@nats-io/transport-node`
 * is used: subjects and the JSON envelope are all a program in any language needs.
 */
import { connect, createInbox, type Msg } from '@nats-io/transport-node';

const [url = 'nats://127.0.0.1:4222', cluster = 'default', message = 'hello'] = process.argv.slice(2);
const base = `rustyclaw.${cluster}`;
const dec = new TextDecoder();
const nc = await connect({ servers: url, timeout: 5000 });
let nextId = 1;

/** One ask: the same envelope as the WebSocket endpoint, on the actor's subject. */
async function ask(path: string, type: string, payload: unknown, timeoutMs = 30_000): Promise<any> {
  const subject = `${base}.${path.split('/').join('.')}`;
  const m: Msg = await nc.request(subject, JSON.stringify({ v: 1, op: 'ask', id: nextId++, to: path, type, payload, timeout_ms: timeoutMs }), { timeout: timeoutMs + 1000 });
  const r = JSON.parse(dec.decode(m.data));
  if (!r.ok) throw new Error(`${type} to ${path}: ${r.error.code}: ${r.error.message}`);
  return r.payload;
}

/** Service-API discovery: every process answers `$SRV.INFO.rustyclaw-<cluster>` with its actors. */
async function discover(): Promise<Array<{ node: string; paths: string[] }>> {
  const inbox = createInbox();
  const found: Array<{ node: string; paths: string[] }> = [];
  const sub = nc.subscribe(inbox, {
    callback: (_err, m) => {
      const info = JSON.parse(dec.decode(m.data));
      found.push({ node: info.metadata.node, paths: info.endpoints.map((e: { metadata: { path: string } }) => e.metadata.path) });
    },
  });
  nc.publish(`$SRV.INFO.rustyclaw-${cluster}`, '', { reply: inbox });
  await new Promise((r) => setTimeout(r, 500));
  sub.unsubscribe();
  return found;
}

const nodes = await discover();
if (nodes.length === 0) {
  console.error(`no RustyClaw process of cluster '${cluster}' answered $SRV.INFO on ${url}`);
  process.exit(1);
}
for (const n of nodes) console.log(`process ${n.node}: ${n.paths.join(' ')}`);
const paths = new Set(nodes.flatMap((n) => n.paths));

const agent = [...paths].find((p) => p.startsWith('agents/'));
if (agent) {
  // Topics are subjects too: `agents/default/events` is `rustyclaw.<cluster>._topic.agents.default.events`.
  const events = nc.subscribe(`${base}._topic.${agent.split('/').join('.')}.events`, {
    callback: (_err, m) => {
      const e = JSON.parse(dec.decode(m.data));
      if (e.payload.kind === 'text') console.log(`event text: ${JSON.stringify(e.payload.text)}`);
      else console.log(`event ${e.payload.kind}`);
    },
  });
  await nc.flush();
  await new Promise((r) => setTimeout(r, 300)); // the service relays exported topics; give the subscription a moment
  const reply = await ask(agent, 'agent.send', { text: message, channel: 'nats-example' });
  console.log(`answer: ${reply.text}`);
  await new Promise((r) => setTimeout(r, 200));
  events.unsubscribe();
}

if (paths.has('system/scheduler')) {
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  let jobId = '';
  const jobs = nc.subscribe(`${base}._topic.scheduler%2Ejobs`, {
    callback: (_err, m) => {
      const e = JSON.parse(dec.decode(m.data)).payload;
      if (e.id !== jobId) return;
      console.log(`job ${e.id} ${e.event} (${e.state})`);
      if (e.event === 'finished') done();
    },
  });
  await nc.flush();
  jobId = (await ask('system/scheduler', 'job.submit', { kind: 'noop', params: { sleep_ms: 100 } })).id;
  console.log(`submitted job ${jobId}`);
  await Promise.race([finished, new Promise((_, rej) => setTimeout(() => rej(new Error(`job ${jobId} did not finish within 30 s`)), 30_000))]);
  jobs.unsubscribe();
}
await nc.close();
