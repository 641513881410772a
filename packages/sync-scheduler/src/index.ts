export * from './repeat-plan.js';
export * from './sync-scheduler.js';
