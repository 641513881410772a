export * from './health-repository.js';
export * from './integration-repository.js';
export * from './keys.js';
export * from './notification-repository.js';
export * from './run-repository.js';
export * from './secret-box.js';
export * from './snapshot-store.js';
export * from './stores.js';
