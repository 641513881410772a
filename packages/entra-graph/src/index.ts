export * from './graph-reader.js';
export * from './token.js';
