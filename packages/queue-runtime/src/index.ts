export * from './connections.js';
export * from './typed-queue.js';
export * from './typed-worker.js';
