/**
 * An application embedding RustyClaw: starts the service (built-in actors plus its own greeter)
 * from its rustyclaw.yaml, asks the greeter from `rustyclaw/client` as another process would,
 * and stops.   npm run build && node dist/main.js [config]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, startService, type BuiltinMessages } from 'rustyclaw';
import { connect } from 'rustyclaw/client';
import { greeterMessages } from './actors/greeter/messages.js';

const file = process.argv[2] ?? path.join(import.meta.dirname, '..', 'rustyclaw.yaml');
const config = loadConfig({ file });
const svc = await startService(config);
try {
  // The endpoint's token is in <data_dir>/run/endpoint.json (owner-only), like `connect({ dataDir })` reads it.
  const { token } = JSON.parse(readFileSync(path.join(config.data_dir, 'run', 'endpoint.json'), 'utf8')) as { token: string };
  const rc = await connect<BuiltinMessages & typeof greeterMessages>({ url: svc.url!, token });
  const hello = await rc.ask('system/greeter', 'greeter.hello', { name: process.env.GREET_NAME ?? 'embedder' });
  console.log(`${hello.text} (greeting number ${hello.count})`);
  const status = await rc.ask('kernel', 'kernel.status');
  console.log(`actors: ${status.actors.map((a) => `${a.path}=${a.state}`).join(' ')}`);
  await rc.close();
} finally {
  await svc.stop();
}
