import { setFlagsFromString } from 'node:v8';

/**
 * The worker streams a sync through a few pages at a time, so its live heap
 * stays small (about 30 MB) whatever the tenant's size. But a Graph page is
 * about 200 KB of JSON, and V8 parses any JSON text of 100 KB or more
 * straight into the old generation (its JSON parser pretenures large
 * inputs), where only a full collection frees it. Left to itself, V8 lets
 * the old generation grow to several times the live size between full
 * collections, and further as the sync goes on: the peak RSS grew with the
 * tenant (265 MB at 100,000 users, 273 MB at 300,000). Growing it by 10 %
 * at most kept the peak flat but made full collections so frequent that
 * they were a third of the worker's CPU. Doubling at most (100 %) keeps the
 * peak flat (about 200 MB at 100,000 and 300,000 users) at close to V8's
 * own CPU cost (14 ms of worker CPU per 1,000 users against 25 ms at 10 %
 * and 14 ms left to V8). Measured with `pnpm bench` figures 2 and 3, and
 * 50 % and 200 % beside them: 18 ms and 186 MB, 13 ms and 230 MB.
 *
 * Imported first by the entry point. V8 reads this flag at every
 * collection, so setting it at startup takes effect (unlike sizing flags
 * such as --max-semi-space-size, which would need the command line).
 */
const WORKER_HEAP_FLAGS = '--heap-growing-percent=100';
setFlagsFromString(WORKER_HEAP_FLAGS);
