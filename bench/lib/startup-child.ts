/** Child process for the startup scenario: boot a tree, print its ready time and RSS, exit. */
import { bootBench, benchTree, knobs } from './kernel-fixture.js';

const [placement, actors, threads] = process.argv.slice(2);
const t0 = performance.now();
const b = await bootBench(benchTree(Number(actors), placement as 'dedicated' | 'shared', Number(threads)), knobs({ placement }));
const ready = performance.now() - t0;
const st = await b.sys.status();
// performance.now() counts from process start, so t0 + ready includes Node's own boot.
const out = { ready_ms: ready, rss_mb: process.memoryUsage.rss() / 1048576, threads: st.threads, process_ready_ms: t0 + ready };
process.stdout.write(JSON.stringify(out) + '\n');
await b.close();
process.exit(0);
