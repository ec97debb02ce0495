/**
 * Runnable example: talk to a running RustyClaw service from another process.
 *
 *   npm start                      # in one terminal
 *   node dist/examples/client.js   # in another (same working directory, or pass the data dir)
 */
import { connect } from '../src/client/index.js';

const dataDir = process.argv[2] ?? process.env.RUSTYCLAW_DATA_DIR ?? '.rustyclaw';
const rc = await connect({ dataDir });
const status = await rc.ask('kernel', 'kernel.status');
console.log(`connected to pid ${status.pid}: ${status.actors.length} actors on ${status.threads} threads`);
for (const a of status.actors) console.log(`  ${a.path.padEnd(24)} ${a.state.padEnd(9)} handled ${a.handled}`);

// Events from every agent (text chunks, tool calls, done, errors) for two seconds.
const off = await rc.subscribe('agents/*', (event, topic) => console.log(topic, JSON.stringify(event)));
await new Promise((r) => setTimeout(r, 2000));
off();
await rc.close();
