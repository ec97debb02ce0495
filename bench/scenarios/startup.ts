/**
 * `startup`: cold start of a tree of 8 actors to ready, in a fresh process, and that process's RSS,
 * for the `dedicated` (8 threads) and `shared` (2 threads) placement profiles.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { median, round } from '../lib/stats.js';

const run1 = promisify(execFile);

async function once(placement: string, actors: number, threads: number): Promise<{ ready_ms: number; rss_mb: number; threads: number; process_ready_ms: number }> {
  const child = new URL('../lib/startup-child.js', import.meta.url).pathname;
  const { stdout } = await run1(process.execPath, [child, placement, String(actors), String(threads)], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

export async function run(opts: { set: Record<string, string>; quick?: boolean }) {
  const actors = Number(opts.set.actors ?? 8);
  const sharedThreads = Number(opts.set.shared_threads ?? 2);
  const runs = opts.quick ? 3 : 7;
  const results: Record<string, Record<string, number>> = {};
  for (const [profile, threads] of [['dedicated', actors], ['shared', sharedThreads]] as const) {
    const all = [];
    await once(profile, actors, threads); // warm the file cache
    for (let i = 0; i < runs; i++) all.push(await once(profile, actors, threads));
    results[profile] = {
      ready_ms: round(median(all.map((r) => r.ready_ms))),
      rss_mb: round(median(all.map((r) => r.rss_mb))),
      threads: all[0].threads,
      process_ready_ms: round(median(all.map((r) => r.process_ready_ms))),
    };
  }
  return {
    results,
    notes: [`${actors} actors; ready_ms = tree start to all actors ready; process_ready_ms includes Node's own start; ${runs} fresh processes each, medians`],
  };
}
