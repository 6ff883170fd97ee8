// The code of the DiskwrightError a call throws (undefined when it returns);
// any other exception is rethrown, so a crash never passes for a coded error.
import { isDiskwrightError } from '../../src/errors.js';

export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isDiskwrightError(e)) return e.code;
    throw e;
  }
  return undefined;
}
