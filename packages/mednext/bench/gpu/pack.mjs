// Packs the GPU benchmark into one self-contained folder for NVIDIA machines that have a driver (and PyTorch)
// but neither Node nor network access: `npm run gpu-bench:pack` in the repository root (after `npx tsc -b`).
//
// Usage: node pack.mjs [--out DIR (gpu-bench at the repository root)] [--fast] [--debs DIR] [--tar]
//   --fast      gzip -1 instead of xz -9 for the Node binary and the Dawn addon (seconds instead of minutes, a
//               bigger folder; what the repository's test uses)
//   --debs DIR  take the Vulkan loader packages from DIR instead of `apt-get download`
//   --tar       also write DIR.tar (one file to copy)
//   --max-mib N the size the folder must stay under (60)
//
// The folder: app/ (the benchmark bundled by esbuild into a few .mjs files, torch_mednext.py, and
// node_modules/webgpu: Dawn's JavaScript, its addon shipped compressed beside), node.xz (this Node binary,
// linux-x64), dawn.node.xz, vulkan/*.deb (the Vulkan/EGL loader packages of Debian), run.sh and README.md.
// The folder is built under a temporary name and renamed when complete and under the size limit.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { parseArgs } from '../common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bench = path.dirname(here);
const pkg = path.dirname(bench);
const root = path.resolve(pkg, '../..');
const require = createRequire(import.meta.url);

/** The Debian packages that make headless Vulkan work on an NVIDIA driver (see README.md). */
export const VULKAN_DEBS = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];
/** The benchmark's entry points, bundled into app/ under the same names. */
const ENTRIES = [
  path.join(here, 'gpu-bench.mjs'),
  path.join(here, 'probe-adapter.mjs'),
  path.join(here, 'engine-webgpu.mjs'),
  path.join(here, 'engine-webgpu-train.mjs'),
  path.join(here, 'engine-tfjs-webgpu.mjs'),
  path.join(bench, 'engine-ours.mjs'),
];

const args = parseArgs(process.argv.slice(2));
const out = path.resolve(String(args.out ?? path.join(root, 'gpu-bench')));
const fast = Boolean(args.fast);
const maxMiB = Number(args['max-mib'] ?? 60);

function fail(message) {
  process.stderr.write(`gpu-bench:pack: ${message}\n`);
  process.exit(1);
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  fail(
    `the pack carries this machine's Node binary, so it must be made on linux-x64 (this is ${process.platform}-${process.arch})`,
  );
}
if (!existsSync(path.join(pkg, 'dist', 'index.js'))) fail('packages/mednext/dist is missing: run `npx tsc -b` first');

if (!(maxMiB > 0)) fail(`--max-mib must be a positive number, got '${args['max-mib']}'`);
mkdirSync(path.dirname(out), { recursive: true });
const stage = mkdtempSync(path.join(path.dirname(out), `.${path.basename(out)}.partial-`));
/** Removes the half-built folder on any failure: nothing but a complete pack is left behind. */
function abort(message) {
  rmSync(stage, { recursive: true, force: true });
  fail(message);
}
process.on('SIGINT', () => abort('interrupted'));

const step = (what) => process.stdout.write(`gpu-bench:pack: ${what}\n`);

try {
  // 1. The benchmark, bundled. Dawn's package stays outside the bundle (in app/node_modules/webgpu) because it
  // loads its addon from a path beside its own file; optional native tfjs packages stay dynamic imports that fail
  // softly, as they do in an installation without them.
  step('bundling the benchmark (esbuild)');
  const esbuild = await import('esbuild');
  const app = path.join(stage, 'app');
  await esbuild.build({
    entryPoints: ENTRIES.map((file) => ({ in: file, out: path.basename(file, '.mjs') })),
    outdir: app,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['webgpu'],
    chunkNames: 'chunks/[name]-[hash]',
    // CommonJS dependencies (tfjs) call require(); give ES modules one.
    banner: {
      js: "import { createRequire as __mednextRequire } from 'node:module'; const require = __mednextRequire(import.meta.url);",
    },
    // tfjs declares its Node entry points side-effect free, yet importing them registers the backend.
    ignoreAnnotations: true,
    logLevel: 'warning',
    // engine-ours.mjs tests for optional exports of other versions of the packages (typeof x === 'function').
    logOverride: { 'import-is-undefined': 'silent' },
    legalComments: 'linked',
  });
  copyFileSync(path.join(bench, 'torch_mednext.py'), path.join(app, 'torch_mednext.py'));

  // Dawn's JavaScript (with its own dependencies) as app/node_modules/webgpu; the addon is shipped compressed.
  const dawnDir = path.dirname(require.resolve('webgpu/package.json', { paths: [root] }));
  const dawnPkg = path.join(app, 'node_modules', 'webgpu');
  await esbuild.build({
    entryPoints: [path.join(dawnDir, 'index.js')],
    outfile: path.join(dawnPkg, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: {
      js: "import { createRequire as __dawnRequire } from 'node:module'; const require = __dawnRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  writeFileSync(
    path.join(dawnPkg, 'package.json'),
    JSON.stringify({
      name: 'webgpu',
      version: require(path.join(dawnDir, 'package.json')).version,
      type: 'module',
      main: 'index.js',
    }),
  );
  copyFileSync(path.join(dawnDir, 'LICENSE.md'), path.join(dawnPkg, 'LICENSE.md'));

  // 2. The Node binary and the Dawn addon, compressed.
  /** Compresses `from` to `to` with xz -9 (the default) or gzip -1 (--fast); returns the file name written. */
  async function compress(from, to) {
    const xz = !fast && spawnSync('xz', ['--version']).status === 0;
    const target = `${to}.${xz ? 'xz' : 'gz'}`;
    if (xz) {
      const r = spawnSync('sh', ['-c', 'xz -9 -T0 -c "$1" > "$2"', 'sh', from, target]);
      if (r.status !== 0) abort(`xz failed on ${from}: ${r.stderr}`);
    } else {
      await pipeline(createReadStream(from), zlib.createGzip({ level: fast ? 1 : 9 }), createWriteStream(target));
    }
    return path.basename(target);
  }
  step(`compressing the Node binary (${process.version}, ${fast ? 'gzip -1' : 'xz -9: a few minutes'})`);
  const nodeFile = await compress(process.execPath, path.join(stage, 'node'));
  step('compressing the Dawn addon');
  const dawnFile = await compress(path.join(dawnDir, 'dist', 'linux-x64', 'dawn.node'), path.join(stage, 'dawn.node'));

  // 3. The Vulkan loader packages.
  step(`Vulkan loader packages: ${VULKAN_DEBS.join(', ')}`);
  const debsDir = path.join(stage, 'vulkan');
  mkdirSync(debsDir);
  collectDebs(debsDir);

  /** Copies the packages from --debs, a cache, or `apt-get download` (through a private package list if needed). */
  function collectDebs(dest) {
    const have = (dir) =>
      VULKAN_DEBS.every((p) => readdirSync(dir).some((f) => f.startsWith(`${p}_`) && f.endsWith('.deb')));
    const copyFrom = (dir) => {
      for (const p of VULKAN_DEBS) {
        const f = readdirSync(dir).find((n) => n.startsWith(`${p}_`) && n.endsWith('_amd64.deb'));
        if (!f) abort(`${dir} has no ${p}_*_amd64.deb`);
        copyFileSync(path.join(dir, f), path.join(dest, f));
      }
    };
    if (args.debs) return copyFrom(path.resolve(String(args.debs)));
    const cache = path.join(root, 'node_modules', '.cache', 'mednext-gpu-bench', 'debs');
    if (existsSync(cache) && have(cache)) return copyFrom(cache);
    const amd64 = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64'];
    const download = (extra) =>
      spawnSync('apt-get', [...amd64, ...extra, 'download', ...VULKAN_DEBS], { cwd: dest, encoding: 'utf8' });
    let r = download([]);
    if (r.status !== 0) {
      // No package lists on this machine: fetch them into a private folder (the system's lists stay untouched).
      const lists = mkdtempSync(path.join(os.tmpdir(), 'mednext-apt-lists-'));
      mkdirSync(path.join(lists, 'partial'));
      const o = [`-oDir::State::Lists=${lists}`];
      const u = spawnSync('apt-get', [...amd64, ...o, 'update'], { encoding: 'utf8' });
      r = u.status === 0 ? download(o) : u;
      rmSync(lists, { recursive: true, force: true });
    }
    if (r.error || r.status !== 0 || !have(dest)) {
      abort(
        `could not download the Vulkan loader packages with apt-get (${r.error?.message ?? r.stderr?.trim().split('\n').pop()}). ` +
          `On a Debian/Ubuntu machine run 'apt-get download ${VULKAN_DEBS.join(' ')}' in a folder and pass --debs FOLDER.`,
      );
    }
    mkdirSync(cache, { recursive: true });
    for (const f of readdirSync(dest)) copyFileSync(path.join(dest, f), path.join(cache, f));
  }

  // 4. The run script and the instructions.
  copyFileSync(path.join(here, 'run.sh'), path.join(stage, 'run.sh'));
  spawnSync('chmod', ['+x', path.join(stage, 'run.sh')]);
  copyFileSync(path.join(here, 'README.md'), path.join(stage, 'README.md'));
  writeFileSync(
    path.join(stage, 'manifest.json'),
    JSON.stringify(
      { node: nodeFile, dawn: dawnFile, nodeVersion: process.version, packedAt: new Date().toISOString() },
      null,
      2,
    ),
  );

  // 5. The size table and the limit.
  /** Every file under `dir` with its size, largest first. */
  function files(dir, prefix = '') {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? files(path.join(dir, e.name), `${prefix}${e.name}/`)
        : [{ name: `${prefix}${e.name}`, bytes: statSync(path.join(dir, e.name)).size }],
    );
  }
  const list = files(stage).sort((a, b) => b.bytes - a.bytes);
  const total = list.reduce((s, f) => s + f.bytes, 0);
  const mib = (b) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  const groups = new Map();
  for (const f of list) {
    const key = f.name.startsWith('app/')
      ? f.name.startsWith('app/node_modules/')
        ? 'app/node_modules/ (Dawn JS)'
        : 'app/ (bundled benchmark)'
      : f.name.startsWith('vulkan/')
        ? 'vulkan/ (loader .debs)'
        : f.name;
    groups.set(key, (groups.get(key) ?? 0) + f.bytes);
  }
  step('size table:');
  for (const [name, bytes] of [...groups].sort((a, b) => b[1] - a[1]))
    process.stdout.write(`  ${mib(bytes).padStart(11)}  ${name}\n`);
  process.stdout.write(`  ${mib(total).padStart(11)}  total (limit ${maxMiB} MiB)\n`);
  if (total > maxMiB * 2 ** 20) abort(`the folder would be ${mib(total)}, over the ${maxMiB} MiB limit (table above)`);
} catch (error) {
  abort(error?.stack ?? String(error));
}

rmSync(out, { recursive: true, force: true });
renameSync(stage, out);
if (args.tar) {
  const partial = `${out}.tar.partial-${process.pid}`;
  const r = spawnSync('tar', ['-cf', partial, '-C', path.dirname(out), path.basename(out)]);
  if (r.status !== 0) {
    rmSync(partial, { force: true });
    fail(`tar failed: ${r.stderr}`);
  }
  renameSync(partial, `${out}.tar`);
  step(`wrote ${out}.tar`);
}
step(`wrote ${out}: copy it to the GPU machine and run ./run.sh there (options: ./run.sh --help)`);
