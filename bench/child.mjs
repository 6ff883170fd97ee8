// One diskwright build, run in its own process so that the parent can measure
// its wall time, CPU time and peak RSS (/usr/bin/time) exactly as it measures
// the classic pipeline's tools. Prints one JSON line on stdout.
//
//   node bench/child.mjs synthetic PAYLOAD SIZE OUT [--zstd] [--bmap] [--raw]
//   node bench/child.mjs preset gpt|rpi|ext4 PAYLOAD SIZE OUT [--zstd] [--bmap] [--no-sync]
//     (the KubeSolo layouts as specs, built with buildImageFile; ext4 is the
//     payload's data/ tree as one ext4 partition filling the image)
//
// "synthetic" lays the payload's file bytes out as a partitioned image would
// (four regions, files 4 KiB aligned, a fixed amount of metadata and zero
// ranges) and streams it through openOutput: it measures the output layer
// (sparse file, .img.zst, .bmap) on a realistic byte mix without the
// filesystem builders. "preset" builds the two KubeSolo layouts from the
// payload with the whole-image builder (a spec per layout, buildImageFile).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => pathToFileURL(path.join(root, 'dist', p)).href;
const MiB = 1 << 20;

const [task, ...rest] = process.argv.slice(2);
const flags = new Set(rest.filter((a) => a.startsWith('--')));
const args = rest.filter((a) => !a.startsWith('--'));
const { openOutput } = await import(dist('node/output.js'));
const { benchSpec } = await import('./specs.mjs');

function walkFiles(dir) {
  const out = [];
  const visit = (d) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) visit(p);
      else if (st.isFile()) out.push([p, st.size]);
    }
  };
  visit(dir);
  return out;
}

async function emitFiles(sink, files, start, end, chunk) {
  let cursor = start;
  let bytes = 0;
  for (const [p, size] of files) {
    if (size === 0) continue;
    if (cursor + size > end) throw new Error(`synthetic layout: region full at ${p}`);
    const fd = fs.openSync(p, 'r');
    try {
      for (let done = 0; done < size; ) {
        const n = Math.min(chunk.length, size - done);
        const got = fs.readSync(fd, chunk, 0, n, done);
        await sink.write(cursor + done, chunk.subarray(0, got));
        done += got;
      }
    } finally {
      fs.closeSync(fd);
    }
    bytes += size;
    cursor += Math.ceil(size / 4096) * 4096;
  }
  return bytes;
}

async function synthetic(payload, size, out) {
  const sink = openOutput(out, { zstd: flags.has('--zstd'), bmap: flags.has('--bmap'), raw: flags.has('--raw') });
  const chunk = new Uint8Array(4 * MiB);
  const meta = new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 0xff);
  const regions = [
    ['efi', 1 * MiB, 129 * MiB],
    ['boot', 129 * MiB, 641 * MiB],
    ['boot', 641 * MiB, 1153 * MiB],
    ['data', 1153 * MiB, size - MiB],
  ];
  let dataBytes = 0;
  // Partition table and its zeroed entry array.
  await sink.write(0, meta.subarray(0, 1024));
  await sink.zero(1024, 16 * 1024);
  for (const [dir, start, end] of regions) {
    // Filesystem metadata: a superblock-like write and zeroed tables (a fixed amount, not scaled with size).
    await sink.write(start, meta);
    await sink.zero(start + 4096, 2 * MiB);
    dataBytes += await emitFiles(sink, walkFiles(path.join(payload, dir)), start + 2 * MiB + 4096, end, chunk);
  }
  await sink.zero(size - 33 * 512, 32 * 512);
  await sink.write(size - 512, meta.subarray(0, 512));
  await sink.finish(size);
  return { dataBytes, compressedSize: sink.result.compressedSize ?? null, mappedBlocks: sink.result.bmap?.mappedBlocksCount ?? null };
}

async function preset(kind, payload, size, out) {
  let buildFile;
  try {
    buildFile = await import(dist('node/build-file.js'));
  } catch {
    process.stdout.write(JSON.stringify({ unavailable: 'src/node/build-file.ts (buildImageFile) is not built' }) + '\n');
    process.exit(3);
  }
  const specFile = `${out}.spec.json`;
  fs.writeFileSync(specFile, JSON.stringify(benchSpec(kind, payload, size), null, 2));
  const { report, output } = await buildFile.buildImageFile(specFile, out, { zstd: flags.has('--zstd'), bmap: flags.has('--bmap'), sync: !flags.has('--no-sync') });
  fs.rmSync(specFile);
  return { files: report.files, dataBytes: report.bytes, compressedSize: output.compressedSize ?? null, mappedBlocks: output.bmap?.mappedBlocksCount ?? null };
}

const t0 = process.hrtime.bigint();
let result;
if (task === 'synthetic') result = await synthetic(args[0], Number(args[1]), args[2]);
else if (task === 'preset') result = await preset(args[0], args[1], Number(args[2]), args[3]);
else throw new Error(`unknown task ${task}`);
const ru = process.resourceUsage();
process.stdout.write(JSON.stringify({ ...result, innerWallS: Number(process.hrtime.bigint() - t0) / 1e9, selfMaxRssKiB: ru.maxRSS }) + '\n');
