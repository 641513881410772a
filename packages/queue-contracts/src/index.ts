export * from './email-jobs.js';
export * from './maintenance-jobs.js';
export * from './notification-jobs.js';
export * from './queue-definition.js';
export * from './queues.js';
export * from './sync-jobs.js';
