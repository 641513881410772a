// The stop and retry errors of a sync live with the preflight that throws most of them.
export { SyncStoppedError, TransientSyncError } from '@pinnacle/sync-preflight';
export * from './sync/sync-processor.js';
export * from './worker-role.js';
