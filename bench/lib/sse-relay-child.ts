/**
 * Child process for the `gateway` scenario's `worker_relay` baseline: the least a worker-thread
 * service can do to stream an LLM's tokens to an HTTP client. A worker thread reads the provider's
 * SSE (node:http, keep-alive) and posts each text delta to the main thread, which writes it as an
 * SSE event to the client: the same two hops as RustyClaw's router → gateway, with no actor
 * system, agent, validation or safety. The worker notes when each delta arrived (epoch ms) and the
 * main thread sends those times in a last `event: trace` before `data: [DONE]`.
 * argv: LLM base URL. Prints `listening <port>`.
 */
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

type FromWorker = { id: number; text: string } | { id: number; done: true; received: Array<[number, string]> } | { id: number; error: string };

if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url), { workerData: process.argv[2] });
  const open = new Map<number, http.ServerResponse>();
  let next = 1;
  worker.on('message', (m: FromWorker) => {
    const res = open.get(m.id);
    if (!res) return;
    if ('text' in m) res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: m.text } }] })}\n\n`);
    else {
      if ('received' in m) res.write(`event: trace\ndata: ${JSON.stringify(m.received)}\n\n`);
      else res.write(`event: error\ndata: ${JSON.stringify(m.error)}\n\n`);
      res.end('data: [DONE]\n\n');
      open.delete(m.id);
    }
  });
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const id = next++;
      open.set(id, res);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      worker.postMessage({ id, body });
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
} else {
  const base = workerData as string;
  const agent = new http.Agent({ keepAlive: true });
  const now = () => performance.timeOrigin + performance.now();
  parentPort!.on('message', ({ id, body }: { id: number; body: string }) => {
    const received: Array<[number, string]> = [];
    const req = http.request(`${base}/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer test-key' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
          const text = (JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content;
          if (!text) continue;
          received.push([now(), text]);
          parentPort!.postMessage({ id, text } satisfies FromWorker);
        }
      });
      res.on('end', () => parentPort!.postMessage({ id, done: true, received } satisfies FromWorker));
    });
    req.on('error', (e) => parentPort!.postMessage({ id, error: e.message } satisfies FromWorker));
    req.end(body);
  });
}
