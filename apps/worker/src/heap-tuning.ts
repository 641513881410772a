import { setFlagsFromString } from 'node:v8';

/**
 * The worker streams a sync through a few pages at a time, so its live heap
 * stays small (about 30 MB) whatever the tenant's size; but the pages it has
 * in flight at each young-generation collection are promoted, and V8's
 * default heap growth (up to 4x the live size after a full collection) let
 * that short-lived garbage pile up with the number of pages: peak RSS grew
 * by half from a 10,000- to a 100,000-user tenant. Growing the old
 * generation by 10% at most makes the (cheap, 30 MB) full collections come
 * sooner instead. Measured with `pnpm bench` (apps/worker/bench/sync.ts).
 *
 * Imported first by the entry point: V8 reads it at every collection, so
 * setting it at startup is enough (a heap flag, not a compiler one).
 */
const WORKER_HEAP_FLAGS = '--heap-growing-percent=10';
setFlagsFromString(WORKER_HEAP_FLAGS);
