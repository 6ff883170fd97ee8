import { it } from 'vitest';
import { corpusRows, corpusImage, corpusSet } from '../helpers/corpus.js';
import { openFileDisk } from '../../src/node/file-source.js';
import { openFat } from '../../src/fat32/read.js';
import { checkFat } from '../../src/fat32/check.js';
it('explore', () => {
  const rob = new Set(corpusSet('robustness'));
  const rows = corpusRows().filter((r) => /^fat|other/.test(r.kind) && /\.(xxd|fsck|img|xz|gz)$/.test(r.path));
  for (const r of rows) {
    const file = corpusImage(r.path);
    const d = openFileDisk(file);
    let out = '';
    try {
      const f = openFat(d);
      const walk = (p: string, depth: number): number => { let n = 0; for (const e of f.list(p)) { n++; const q = (p === '/' ? '' : p) + '/' + e.name; if (e.type === 'dir' && depth < 20) n += walk(q, depth + 1); else if (e.type === 'file') f.readFile(q); } return n; };
      let n = -1; let werr = '';
      try { n = walk('/', 0); } catch (e: any) { werr = e.code ?? String(e); }
      const probs = checkFat(f).map((p) => p.code);
      out = `${f.volume.bits} entries=${n} ${werr} label=${f.label()} problems=${[...new Set(probs)].join(',')}`;
    } catch (e: any) { out = 'OPEN ' + (e.code ?? e.stack); }
    d.close();
    console.log(`${rob.has(r.path) ? 'R' : ' '} ${r.status.padEnd(11)} ${r.path.replace('util-linux/tests/ts/blkid/images-fs/', 'UL/')}: ${out}`);
  }
});
