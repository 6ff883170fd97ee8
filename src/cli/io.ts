// What a CLI command gets from its caller: output streams, environment and
// working directory (injected, so tests run main() in process).
import { DiskwrightError } from '../errors.js';

export interface CliIo {
  stdout: (b: Uint8Array | string) => void;
  stderr: (s: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** stderr is a terminal (progress bars are drawn only then). */
  isTTY?: boolean;
}

export interface Command {
  name: string;
  /** One line for `diskwright --help`. */
  summary: string;
  help: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

/** A usage error: exit status 2. */
export function usageError(message: string): DiskwrightError {
  return new DiskwrightError('USAGE', message);
}

export interface ParsedArgs {
  positional: string[];
  flags: Set<string>;
  values: Map<string, string>;
}

/**
 * Parse `argv` against the flags (no value) and options (one value) a command
 * takes: `--json`, `-o OUT`, `--seed=S`. Anything else starting with '-' is a
 * usage error.
 */
export function parseArgs(argv: string[], flags: string[], options: string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], flags: new Set(), values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { out.positional.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      if (flags.includes(name)) {
        if (eq > 0) throw usageError(`${name} takes no value`);
        out.flags.add(name);
      } else if (options.includes(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw usageError(`${name} needs a value`);
        out.values.set(name, v);
      } else {
        throw usageError(`unknown option ${name}`);
      }
    } else {
      out.positional.push(a);
    }
  }
  return out;
}
