import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AUTOBOOT_DEFAULT_SIZE, Autoboot, formatAutoboot } from '../../src/bootenv/autoboot.js';
import { isDiskwrightError } from '../../src/errors.js';
import { RpiSlots } from '../../src/bootenv/slots.js';

const td = new TextDecoder();
const lineArb = fc.oneof(
  fc.constantFrom('[all]', '[tryboot]', '[pi4]', '[none]', '# comment', '', '  boot_partition = 2  ', 'tryboot_a_b=1', 'boot_partition=3', 'dtparam=x=y', 'garbage line', '####'),
  fc.string({ unit: fc.constantFrom('a', '=', '[', ']', '#', ' ', '\r', '2', '_'), maxLength: 12 }),
);

describe('autoboot.txt', () => {
  it('decodes and encodes any bytes unchanged', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      expect(Autoboot.decode(b).encode()).toEqual(b);
    }));
  });

  it('formats the Raspberry Pi A/B file, padded to its size with a comment', () => {
    const b = formatAutoboot({ committed: 'A' });
    expect(b.length).toBe(AUTOBOOT_DEFAULT_SIZE);
    const t = td.decode(b);
    expect(t.startsWith('[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n#')).toBe(true);
    expect(t.endsWith('#\n')).toBe(true);
    expect(formatAutoboot({ size: 512 }).length).toBe(512);
    expect(() => formatAutoboot({ size: 513 })).toThrow(expect.objectContaining({ code: 'AUTOBOOT_SIZE' }));
    expect(() => formatAutoboot({ size: 40 })).toThrow(expect.objectContaining({ code: 'AUTOBOOT_FULL' }));
    const doc = Autoboot.decode(b);
    expect(doc.listLines()).toEqual(['[all]', 'tryboot_a_b=1', 'boot_partition=2', '[tryboot]', 'boot_partition=3']);
    expect(doc.effective('boot_partition', false)).toBe('2');
    expect(doc.effective('boot_partition', true)).toBe('3');
  });

  it('a value edit changes that value only; every other line stays byte for byte', () => {
    fc.assert(fc.property(fc.array(lineArb, { maxLength: 15 }), fc.constantFrom('2', '3', '17'), (lines, v) => {
      const text = lines.join('\n') + '\n';
      const doc = Autoboot.parse(text);
      const before = doc.lines.map((l) => l.text + l.eol);
      doc.set('all', 'boot_partition', v);
      const after = doc.lines.map((l) => l.text + l.eol);
      expect(doc.get('all', 'boot_partition')).toBe(v);
      if (after.length === before.length) {
        const diff = after.map((l, i) => i).filter((i) => after[i] !== before[i]);
        expect(diff.length).toBeLessThanOrEqual(1);
        for (const i of diff) {
          expect(after[i].replace(/=\s*\S*?(\s*)(\r?\n)?$/, '')).toBe(before[i].replace(/=\s*\S*?(\s*)(\r?\n)?$/, ''));
          expect(after[i]).toMatch(new RegExp(`boot_partition\\s*=\\s*${v}`));
        }
      } else {
        expect(after.length).toBe(before.length + 1);
        const k = after.findIndex((l, i) => l !== before[i]);
        expect(after[k]).toMatch(new RegExp(`^boot_partition=${v}\\r?\\n$`));
        expect([...after.slice(0, k), ...after.slice(k + 1)].map((l, i) => (i === k - 1 ? l.replace(/\r?\n$/, '') : l)))
          .toEqual(before.map((l, i) => (i === k - 1 ? l.replace(/\r?\n$/, '') : l)));
      }
    }));
  });

  it('keeps the size through edits by growing or shrinking the trailing padding', () => {
    const doc = Autoboot.decode(formatAutoboot());
    doc.set('all', 'boot_partition', '3');
    doc.set('tryboot', 'boot_partition', '2');
    doc.set('all', 'new_key', 'some value');
    const b = doc.encodeFitted(AUTOBOOT_DEFAULT_SIZE);
    expect(b.length).toBe(AUTOBOOT_DEFAULT_SIZE);
    const again = Autoboot.decode(b);
    expect(again.listLines()).toEqual(['[all]', 'tryboot_a_b=1', 'boot_partition=3', 'new_key=some value', '[tryboot]', 'boot_partition=2']);
    again.unset('all', 'new_key');
    expect(again.encodeFitted(AUTOBOOT_DEFAULT_SIZE)).toEqual(formatAutoboot({ committed: 'B' }));
  });

  it('says how many bytes are over when an edit cannot fit', () => {
    const doc = Autoboot.parse('boot_partition=2\n');
    doc.set('all', 'boot_partition', '33');
    try { doc.encodeFitted(17); expect.unreachable(); } catch (e) {
      expect(isDiskwrightError(e, 'AUTOBOOT_FULL')).toBe(true);
      expect((e as { data: { over: number } }).data.over).toBe(1);
    }
    expect(td.decode(doc.encodeFitted(20))).toBe('boot_partition=33\n#\n');
    expect(td.decode(doc.encodeFitted(19))).toBe('boot_partition=33\n\n');
  });

  it('adds a missing [tryboot] section after an [all] reset, and an unconditional key before the first [tryboot]', () => {
    const doc = Autoboot.parse('[pi4]\nfoo=1\n');
    doc.set('tryboot', 'boot_partition', '3');
    doc.set('all', 'boot_partition', '2');
    expect(td.decode(doc.encode())).toBe('[pi4]\nfoo=1\n[all]\nboot_partition=2\n[tryboot]\nboot_partition=3\n');
    const doc2 = Autoboot.parse('[tryboot]\nboot_partition=3\n[all]\nx=1\n');
    doc2.set('all', 'boot_partition', '2');
    expect(td.decode(doc2.encode())).toBe('boot_partition=2\n[tryboot]\nboot_partition=3\n[all]\nx=1\n');
    expect(doc.effective('boot_partition', false)).toBe('2');
    expect(doc.effective('boot_partition', true)).toBe('3');
    expect(doc.effective('foo', false)).toBeUndefined();
    expect(doc.effective('foo', false, (f) => f === 'pi4')).toBe('1');
  });

  it('keeps CRLF line ends', () => {
    const doc = Autoboot.parse('[all]\r\nboot_partition=2\r\n');
    doc.set('all', 'boot_partition', '3');
    expect(td.decode(doc.encode())).toBe('[all]\r\nboot_partition=3\r\n');
  });

  it('refuses values that would break the line', () => {
    const doc = Autoboot.parse('[all]\n');
    expect(() => doc.set('all', 'boot_partition', '2\n[tryboot]')).toThrow(expect.objectContaining({ code: 'AUTOBOOT_VALUE' }));
  });

  it('on any file, setting the committed slot either gives the firmware the right partitions or refuses with a code', () => {
    fc.assert(fc.property(fc.array(lineArb, { maxLength: 15 }), fc.constantFrom<'A' | 'B'>('A', 'B'), (lines, slot) => {
      const text = lines.join('\n') + '\n';
      const doc = Autoboot.parse(text);
      const s = new RpiSlots(doc);
      try {
        s.setCommitted(slot);
      } catch (e) {
        expect(isDiskwrightError(e, 'AUTOBOOT_LAYOUT')).toBe(true);
        return;
      }
      const again = Autoboot.decode(doc.encode());
      expect(again.effective('boot_partition', false)).toBe(slot === 'A' ? '2' : '3');
      expect(again.effective('boot_partition', true)).toBe(slot === 'A' ? '3' : '2');
      expect(again.effective('tryboot_a_b', false)).toBe('1');
      expect(new RpiSlots(again).state()).toEqual({ committed: slot, trying: null, triesLeft: 0, confirmed: true });
      // comments survive
      const out = td.decode(doc.encode());
      for (const l of lines) if (l.startsWith('#')) expect(out.split('\n')).toContain(l);
    }), { numRuns: 300 });
  });
});

describe('autoboot.txt padding', () => {
  it('keeps every line within the firmware parser\'s 80 characters, at any size, and the content intact', () => {
    fc.assert(fc.property(fc.integer({ min: 80, max: 512 }), fc.constantFrom('A' as const, 'B' as const), (size, committed) => {
      const bytes = formatAutoboot({ committed, size });
      expect(bytes.length).toBe(size);
      const text = new TextDecoder().decode(bytes);
      for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
      const doc = Autoboot.decode(bytes);
      expect(doc.entries().filter((e) => e.key === 'boot_partition').map((e) => e.value)).toEqual(committed === 'A' ? ['2', '3'] : ['3', '2']);
      expect(doc.encodeFitted(size)).toEqual(bytes);
    }));
  });
});
