// diskwright/ext4: ext4: planning, reading, geometry, the driver.
export { openExt4, readExt4, looksLikeExt4, type Ext4Reader, type Ext4ReadOptions, type Ext4Stat } from './read.js';
export { probeExt4 } from './probe.js';
export { planExt4, dataBlockRuns, type Ext4Options, type Ext4Features } from './build.js';
export { computeGeometry, defaultJournalBlocks, groupHasSuper, groupLayout, groupPlacer, type Ext4Geometry, type GeometryOptions, type GroupLayout, type GroupPlacer } from './geometry.js';
export { dirHash, type DirHash } from './htree.js';
export { ext4Driver, ext4OptionsFromSpec } from './driver.js';
