// The in-memory file tree that filesystem builders consume. Inputs (a host
// directory, a tar archive, code) fill it; FAT32 and ext4 builders walk it.
// Paths are absolute and '/'-separated ("/boot/config.txt"). Children are
// walked in sorted order, so the host's directory read order never leaks into
// an image. A hard link is the same FileNode object reached by two paths.
import { DiskwrightError, fail } from '../errors.js';
import type { Source } from '../io/source.js';

/** Seconds since the Unix epoch (may be negative) and nanoseconds. */
export interface Timestamp {
  sec: number;
  nsec: number;
}

export interface Xattr {
  /** Full name with namespace prefix: "user.foo", "security.capability". */
  name: string;
  value: Uint8Array;
}

interface NodeBase {
  /** Permission bits including setuid (0o4000), setgid (0o2000), sticky (0o1000). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  atime?: Timestamp;
  ctime?: Timestamp;
  /** Creation time (ext4 i_crtime); mtime when absent. */
  crtime?: Timestamp;
  xattrs?: Xattr[];
  /** Where the entry came from, for errors ("tar entry etc/passwd"). */
  origin?: string;
}

export interface FileNode extends NodeBase {
  kind: 'file';
  source: Source;
  /**
   * One contiguous run of blocks that never moves (GRUB's grubenv, which
   * save_env rewrites in place through the firmware's block I/O).
   */
  contiguous?: boolean;
}

export interface DirNode extends NodeBase {
  kind: 'dir';
  children: Map<string, TreeNode>;
}

export interface SymlinkNode extends NodeBase {
  kind: 'symlink';
  target: string;
}

export interface DeviceNode extends NodeBase {
  kind: 'char' | 'block';
  major: number;
  minor: number;
}

export interface SpecialNode extends NodeBase {
  kind: 'fifo' | 'socket';
}

export type TreeNode = FileNode | DirNode | SymlinkNode | DeviceNode | SpecialNode;

export type NodeAttrs = Partial<Pick<NodeBase, 'mode' | 'uid' | 'gid' | 'mtime' | 'atime' | 'ctime' | 'crtime' | 'xattrs' | 'origin'>>;

export interface TreeOptions {
  /** Time given to entries that carry none (directories made implicitly, say). Default: the epoch. */
  defaultTime?: Timestamp;
}

const MAX_PATH_DEPTH = 4096;

/** Split and check a path inside the tree. Rejects '..', NUL, and empty names. */
export function splitTreePath(path: string, origin?: string): string[] {
  if (typeof path !== 'string') fail('TREE_PATH_INVALID', `path must be a string`, { path, origin });
  if (path.includes('\0')) fail('TREE_PATH_INVALID', `${origin ?? path}: path contains NUL`, { path, origin });
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  for (const p of parts) {
    if (p === '..') {
      fail('TREE_PATH_ESCAPE', `${origin ?? path}: '..' would escape the target directory`, { path, origin });
    }
  }
  if (parts.length > MAX_PATH_DEPTH) fail('TREE_PATH_INVALID', `${origin ?? path}: path is deeper than ${MAX_PATH_DEPTH}`, { path, origin });
  return parts;
}

export function joinTreePath(parts: readonly string[]): string {
  return '/' + parts.join('/');
}

export class FileTree {
  readonly root: DirNode;
  readonly defaultTime: Timestamp;

  constructor(options: TreeOptions = {}) {
    this.defaultTime = options.defaultTime ?? { sec: 0, nsec: 0 };
    this.root = { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: this.defaultTime, children: new Map() };
  }

  private base(attrs: NodeAttrs | undefined, mode: number): NodeBase {
    return {
      mode: attrs?.mode ?? mode,
      uid: attrs?.uid ?? 0,
      gid: attrs?.gid ?? 0,
      mtime: attrs?.mtime ?? this.defaultTime,
      atime: attrs?.atime,
      ctime: attrs?.ctime,
      crtime: attrs?.crtime,
      xattrs: attrs?.xattrs,
      origin: attrs?.origin,
    };
  }

  /** The directory at `parts`, made (mode 0755) where missing. */
  private dirAt(parts: readonly string[], origin?: string): DirNode {
    let dir = this.root;
    for (let i = 0; i < parts.length; i++) {
      const next = dir.children.get(parts[i]);
      if (!next) {
        const made: DirNode = { kind: 'dir', ...this.base(undefined, 0o755), children: new Map() };
        dir.children.set(parts[i], made);
        dir = made;
      } else if (next.kind === 'dir') {
        dir = next;
      } else {
        fail('TREE_NOT_A_DIRECTORY', `${origin ?? joinTreePath(parts)}: ${joinTreePath(parts.slice(0, i + 1))} is not a directory`, {
          path: joinTreePath(parts.slice(0, i + 1)), origin,
        });
      }
    }
    return dir;
  }

  /** Place `node` at `path`. A directory over an existing directory merges attributes; anything else there is TREE_DUPLICATE. */
  add(path: string, node: TreeNode): TreeNode {
    const parts = splitTreePath(path, node.origin);
    if (parts.length === 0) {
      if (node.kind !== 'dir') fail('TREE_DUPLICATE', `${node.origin ?? path}: the root must be a directory`, { path });
      Object.assign(this.root, { ...node, children: this.root.children });
      for (const [k, v] of node.children) this.root.children.set(k, v);
      return this.root;
    }
    const parent = this.dirAt(parts.slice(0, -1), node.origin);
    return this.addChild(parent, parts[parts.length - 1], node, () => joinTreePath(parts));
  }

  /**
   * Place `node` as `name` in `parent`, a directory already in this tree, by
   * add()'s rules. Walkers that hold the parent use this: no path is split
   * or looked up per entry. `path` gives the entry's full path for an error.
   */
  addChild(parent: DirNode, name: string, node: TreeNode, path: () => string): TreeNode {
    const existing = parent.children.get(name);
    if (existing) {
      if (existing.kind === 'dir' && node.kind === 'dir') {
        const children = existing.children;
        Object.assign(existing, node, { children });
        for (const [k, v] of node.children) children.set(k, v);
        return existing;
      }
      throw new DiskwrightError('TREE_DUPLICATE', `${node.origin ?? path()}: ${path()} is given twice`, {
        path: path(), origin: node.origin, existing: existing.origin,
      });
    }
    parent.children.set(name, node);
    return node;
  }

  addDir(path: string, attrs?: NodeAttrs): DirNode {
    return this.add(path, { kind: 'dir', ...this.base(attrs, 0o755), children: new Map() }) as DirNode;
  }

  addFile(path: string, source: Source, attrs?: NodeAttrs & { contiguous?: boolean }): FileNode {
    const node: FileNode = { kind: 'file', ...this.base(attrs, 0o644), source };
    if (attrs?.contiguous) node.contiguous = true;
    return this.add(path, node) as FileNode;
  }

  addSymlink(path: string, target: string, attrs?: NodeAttrs): SymlinkNode {
    return this.add(path, { kind: 'symlink', ...this.base(attrs, 0o777), target }) as SymlinkNode;
  }

  addDevice(path: string, kind: 'char' | 'block', major: number, minor: number, attrs?: NodeAttrs): DeviceNode {
    return this.add(path, { kind, ...this.base(attrs, 0o644), major, minor }) as DeviceNode;
  }

  addSpecial(path: string, kind: 'fifo' | 'socket', attrs?: NodeAttrs): SpecialNode {
    return this.add(path, { kind, ...this.base(attrs, 0o644) }) as SpecialNode;
  }

  /** A second name for the file at `existing` (a hard link). */
  addHardlink(path: string, existing: string, origin?: string): FileNode | DeviceNode | SpecialNode | SymlinkNode {
    const target = this.get(existing);
    if (!target) {
      fail('TREE_LINK_TARGET_MISSING', `${origin ?? path}: hard link to ${existing}, which is not (yet) in the tree`, { path, target: existing, origin });
    }
    if (target.kind === 'dir') {
      fail('TREE_LINK_TO_DIRECTORY', `${origin ?? path}: hard link to the directory ${existing}`, { path, target: existing, origin });
    }
    const parts = splitTreePath(path, origin);
    const parent = this.dirAt(parts.slice(0, -1), origin);
    const name = parts[parts.length - 1];
    if (parts.length === 0 || parent.children.has(name)) {
      fail('TREE_DUPLICATE', `${origin ?? path}: ${joinTreePath(parts)} is given twice`, { path: joinTreePath(parts), origin });
    }
    parent.children.set(name, target);
    return target;
  }

  get(path: string): TreeNode | undefined {
    let node: TreeNode = this.root;
    for (const p of splitTreePath(path)) {
      if (node.kind !== 'dir') return undefined;
      const next: TreeNode | undefined = node.children.get(p);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  /** Every entry, parents before children, siblings in sorted name order. The root comes first as "/". */
  *walk(): Generator<[string, TreeNode, DirNode | null]> {
    yield ['/', this.root, null];
    yield* walkDir(this.root, '');
  }
}

export function sortedChildren(dir: DirNode): [string, TreeNode][] {
  return [...dir.children.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function* walkDir(dir: DirNode, prefix: string): Generator<[string, TreeNode, DirNode]> {
  for (const [name, child] of sortedChildren(dir)) {
    const p = `${prefix}/${name}`;
    yield [p, child, dir];
    if (child.kind === 'dir') yield* walkDir(child, p);
  }
}
