// One error class for everything diskwright reports: a stable `code` that
// scripts and tests match on, and structured `data` (structure, offset,
// field, expected, actual, path…) for humans and tools. Messages may change;
// codes may not.

export type ErrorData = Record<string, unknown>;

export class DiskwrightError extends Error {
  readonly code: string;
  readonly data: ErrorData;

  constructor(code: string, message: string, data: ErrorData = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiskwrightError';
    this.code = code;
    this.data = data;
  }
}

/** Throw a DiskwrightError (usable in expression position). */
export function fail(code: string, message: string, data: ErrorData = {}): never {
  throw new DiskwrightError(code, message, data);
}

export function isDiskwrightError(e: unknown, code?: string): e is DiskwrightError {
  return e instanceof DiskwrightError && (code === undefined || e.code === code);
}
