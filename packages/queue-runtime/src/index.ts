export * from './connections.js';
export * from './health-server.js';
export * from './org-jobs.js';
export * from './process-entry.js';
export * from './typed-queue.js';
export * from './worker-registry.js';
