// A progress line for `diskwright build` on a terminal: bytes and files
// written, rate and an estimate of the time left, redrawn at most ten times a
// second on stderr. The clock is read here, at the edge, and only for display.
import type { BuildProgress } from '../image/build.js';
import { formatSize } from './commands/inspect.js';

export interface ProgressBar {
  update(p: BuildProgress): void;
  done(): void;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export function progressBar(write: (s: string) => void, now: () => number = () => performance.now(), width = 24): ProgressBar {
  const start = now();
  let last = -Infinity;
  let shown = false;
  const draw = (p: BuildProgress, force: boolean) => {
    const t = now();
    if (!force && t - last < 100) return;
    last = t;
    // Until every filesystem is planned the totals are partial: shown as '?'.
    const total = Math.max(p.totalDataBytes, 1);
    const frac = p.planned ? Math.min(p.bytes / total, 1) : 0;
    const filled = Math.round(frac * width);
    const secs = (t - start) / 1000;
    const rate = secs > 0 ? p.bytes / secs : 0;
    const eta = rate > 0 && p.planned ? (total - Math.min(p.bytes, total)) / rate : NaN;
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${formatSize(p.bytes)}/${p.planned ? formatSize(p.totalDataBytes) : '?'} ` +
      `${p.files}/${p.planned ? p.totalFiles : '?'} files ${formatSize(Math.round(rate))}/s ETA ${formatSeconds(eta)}${p.partition ? ` p${p.partition}` : ''}`;
    write(`\r${line}\x1b[K`);
    shown = true;
  };
  return {
    update: (p) => draw(p, false),
    done: () => { if (shown) write('\r\x1b[K'); },
  };
}
