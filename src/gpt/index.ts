// diskwright/gpt: GPT: header, entries, type GUIDs, whole tables.
export * from './header.js';
export * from './entry.js';
export * from './types.js';
export * from './table.js';
