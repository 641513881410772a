export * from './sync/sync-errors.js';
export * from './sync/sync-processor.js';
export * from './worker-role.js';
