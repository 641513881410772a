import type { AnyFigure } from '../figure.js';
import { alertStorm } from './alert-storm.js';
import { apiLoad } from './api-load.js';
import { cpuPerUser } from './cpu-per-user.js';
import { graphCost } from './graph-cost.js';
import { millionUsers } from './million-users.js';
import { networkSync } from './network-sync.js';
import { schedulerScale } from './scheduler-scale.js';
import { snapshotMemory } from './snapshot-memory.js';
import { syncNowLatency } from './sync-now-latency.js';

/** Every figure of `pnpm bench`, in the order. */
export const figures: AnyFigure[] = [
  networkSync,
  cpuPerUser,
  millionUsers,
  graphCost,
  syncNowLatency,
  apiLoad,
  alertStorm,
  schedulerScale,
  snapshotMemory,
];
