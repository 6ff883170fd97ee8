// What a kernel build hands the image builder: plain files. This is the only
// shape the rest of diskwright knows about kernels; how they were built
// (mainline, the Raspberry Pi fork, a CI cache) stays behind a provider.

export interface ArtifactFile {
  /** Host path of the file. */
  path: string;
  /** Name it takes in the image (basename by default; "overlays/x.dtbo" for overlays). */
  name: string;
}

export interface KernelArtifacts {
  /** The kernel image (bzImage / vmlinuz, arm64 Image, kernel8.img…). */
  kernel: ArtifactFile;
  initramfs?: ArtifactFile;
  /** Device trees, placed at the top of a Raspberry Pi boot partition. */
  dtbs: ArtifactFile[];
  /** Device-tree overlays (names keep their `overlays/` prefix). */
  overlays: ArtifactFile[];
  /** Host directory holding lib/modules/<version>, when the build produced modules. */
  modulesDir?: string;
  /** Kernel release string, when the provider knows it. */
  version?: string;
}

/** Which files of a build output are which artifact: globs relative to the output directory. */
export interface ArtifactGlobs {
  kernel: string | string[];
  initramfs?: string | string[];
  dtbs?: string | string[];
  overlays?: string | string[];
  modulesDir?: string;
}

export const DEFAULT_GLOBS: ArtifactGlobs = {
  kernel: ['vmlinuz', 'vmlinuz-*', 'bzImage', 'Image', 'kernel*.img'],
  initramfs: ['initrd.img', 'initrd.img-*', 'initramfs.img', 'initramfs*.img', 'initramfs.cpio*'],
  dtbs: ['*.dtb', 'dtbs/**/*.dtb'],
  overlays: ['overlays/*.dtbo'],
  modulesDir: 'lib/modules',
};
