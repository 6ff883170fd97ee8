// A small glob matcher for artifact names: `*` and `?` within one path
// segment, `**` across segments. Paths are '/'-separated and relative.

export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // "**/" matches zero or more directories; a trailing "**" anything.
        if (glob[i + 2] === '/') { re += '(?:.*/)?'; i += 2; } else { re += '.*'; i += 1; }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

export function matchAny(globs: string | string[] | undefined, rel: string): boolean {
  if (!globs) return false;
  return (Array.isArray(globs) ? globs : [globs]).some((g) => globToRegExp(g).test(rel));
}
