// diskwright/bootenv: Boot environments: GRUB env block, autoboot.txt, the A/B slot machines.
export * from './grubenv.js';
export * from './autoboot.js';
export * from './slots.js';
export * from './locate.js';
