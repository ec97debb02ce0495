/**
 * Runnable example: talk to a running RustyClaw service from another process.
 *
 *   npm start                              # in one terminal
 *   node dist/examples/client.js [DATADIR] # in another, from any directory (compiled by `npm run build`)
 *
 * Without DATADIR the client looks where the service keeps its run file by default:
 * RUSTYCLAW_DATA_DIR, else $XDG_DATA_HOME/rustyclaw or ~/.rustyclaw. In another project, import
 * from 'rustyclaw/client' instead (see docs/embedding.md, "Installing the client").
 */
import { connect } from '../src/client/index.js';

const rc = await connect(process.argv[2] ? { dataDir: process.argv[2] } : {});
const status = await rc.ask('kernel', 'kernel.status');
console.log(`connected to pid ${status.pid}: ${status.actors.length} actors on ${status.threads} threads`);
for (const a of status.actors) console.log(`  ${a.path.padEnd(24)} ${a.state.padEnd(9)} handled ${a.handled}`);

// Events from every agent (text chunks, tool calls, done, errors) for two seconds.
const off = await rc.subscribe('agents/*', (event, topic) => console.log(topic, JSON.stringify(event)));
await new Promise((r) => setTimeout(r, 2000));
off();
await rc.close();
