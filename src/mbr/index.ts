// diskwright/mbr: MBR: boot record, partition records, CHS, type bytes, tables.
export * from './boot-record.js';
export * from './partition-record.js';
export * from './chs.js';
export * from './types.js';
export * from './table.js';
