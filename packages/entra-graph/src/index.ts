export * from './graph-reader.js';
export * from './self-signed-certificate.js';
export * from './token.js';
