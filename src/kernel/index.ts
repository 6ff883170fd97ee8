export * from './artifacts.js';
export * from './prebuilt.js';
export * from './command.js';
export { globToRegExp } from './glob.js';
