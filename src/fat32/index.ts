// diskwright/fat32: FAT12/16/32: planning, reading, checking, the driver.
export { planFat, encodeFatLabel, type FatBuildOptions, type FatPlan } from './build.js';
export { openFat, FatReader, looksLikeFat, decodeFatVolume, type FatVolume, type OpenFatOptions, type FatDirRecord } from './read.js';
export { checkFat } from './check.js';
export { planFatGeometry, type FatGeometry, type FatChoice } from './geometry.js';
export { fat32Driver } from './driver.js';
