/** Baseline worker: an echo function exposed with comlink over the worker's parent port. */
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

Comlink.expose({ echo: (p: unknown) => p }, nodeEndpoint(parentPort!));
