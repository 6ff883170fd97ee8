// ext2/3/4 recognition for the image layer: the superblock magic 0xEF53 at
// byte 1080 (superblock at 1024, s_magic at 0x38), as blkid's ext probe.
import type { FilesystemProbe } from '../fs/types.js';
import { looksLikeExt4, openExt4 } from './read.js';

/** null when the disk holds no ext superblock; a coded EXT4_* error when it does but is broken. */
export const probeExt4: FilesystemProbe = (disk) => (looksLikeExt4(disk) ? openExt4(disk) : null);
