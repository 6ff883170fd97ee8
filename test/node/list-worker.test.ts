// Directory listings on the listing thread: the compiled module (dist/, which
// `npm test` builds first) runs listDirectory() on a worker; its listing must
// be the one the calling thread makes, and its errors must keep their codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { listDirectory } from '../../src/node/directory.js';
import { listDirectoryAsync as listFromSources } from '../../src/node/list-worker.js';
import { haveTools, tempDir } from '../helpers/oracle.js';
import { ROOT, makeHostTree } from './fixture.js';

const dist = path.resolve(__dirname, '../../dist/node/list-worker.js');

describe.skipIf(!haveTools('python3', 'mkfifo', 'mknod'))('directory listing thread', () => {
  let tmp: { dir: string; cleanup: () => void };
  let src: string;
  let listOnWorker: (dir: string) => Promise<ReturnType<typeof listDirectory>>;
  beforeAll(async () => {
    tmp = tempDir('dw-listw-');
    src = path.join(tmp.dir, 'src');
    fs.mkdirSync(src);
    makeHostTree(src, { devices: ROOT, sockets: true, xattrs: false });
    // `npm test` compiles dist/ before the tests; a missing build is an error, not a skip.
    if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: run npm test (it builds first)`);
    ({ listDirectoryAsync: listOnWorker } = await import(pathToFileURL(dist).href));
  });
  afterAll(() => tmp.cleanup());

  it('gives the listing the calling thread gives: names, parents, kinds, numbers, links, targets', async () => {
    const here = listDirectory(src);
    const [a, b] = await Promise.all([listOnWorker(src), listOnWorker(path.join(src, 'etc'))]);
    expect(a).toEqual(here);
    expect(b).toEqual(listDirectory(path.join(src, 'etc')));
    expect(here.count).toBeGreaterThan(10);
    expect([...here.linkOf].some((x) => x >= 0)).toBe(true); // the fixture's hard links
    expect(here.targets.size).toBeGreaterThan(0); // and symlinks
    // from sources (no compiled worker script), the same listing on this thread
    expect(await listFromSources(src)).toEqual(here);
  });

  it('errors cross with their codes and data', async () => {
    const missing = path.join(tmp.dir, 'nope');
    await expect(listOnWorker(missing)).rejects.toMatchObject({ code: 'IO_NOT_FOUND', data: { path: missing } });
    const bad = path.join(tmp.dir, 'bad-name');
    fs.mkdirSync(bad);
    fs.writeFileSync(Buffer.concat([Buffer.from(bad + '/'), Buffer.from([0x66, 0xff, 0xfe])]), 'x');
    await expect(listOnWorker(bad)).rejects.toMatchObject({ code: 'INPUT_NAME_NOT_UTF8', data: { path: bad } });
    // the thread survives an error and serves the next request
    expect((await listOnWorker(src)).count).toBe(listDirectory(src).count);
  });
});
