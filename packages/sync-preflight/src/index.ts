export * from './connection-check.js';
export * from './credentials.js';
export * from './group-search.js';
export * from './map-bounded.js';
export * from './preflight.js';
export * from './sync-errors.js';
export * from './token-errors.js';
