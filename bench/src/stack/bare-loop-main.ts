import { type BareSyncOptions, bareSync } from './bare-loop.js';

// Options in BARE_SYNC (JSON); the result as one JSON line on stdout.
const options = JSON.parse(process.env.BARE_SYNC ?? '{}') as BareSyncOptions;
const result = await bareSync(options);
process.stdout.write(`${JSON.stringify({ bareSync: result })}\n`);
