import { setFlagsFromString } from 'node:v8';

/**
 * The worker streams a sync through a few pages at a time, so its live heap
 * stays small (about 30 MB) whatever the tenant's size. But a Graph page is
 * about 300 KB of JSON, and what JSON.parse builds from an input that large
 * goes straight to the old generation (V8 pretenures big JSON inputs; a
 * sampling heap profile shows all of it there), where only a full
 * collection frees it. V8's default heap growth (up to several times the
 * live size between full collections) let that garbage pile up with the
 * number of pages: peak RSS grew by about half from a 10,000- to a
 * 100,000-user tenant. Growing the old generation by 10% at most brings the
 * (small, 30 MB) full collections sooner: growth under 20%, for about a
 * quarter more worker CPU. Measured with `pnpm bench` (apps/worker/bench).
 *
 * Imported first by the entry point. V8 reads this flag at every
 * collection, so setting it at startup takes effect (unlike sizing flags
 * such as --max-semi-space-size, which would need the command line).
 */
const WORKER_HEAP_FLAGS = '--heap-growing-percent=10';
setFlagsFromString(WORKER_HEAP_FLAGS);
