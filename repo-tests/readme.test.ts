/**
 * The README matches what the commands do: every `mednext` command line in its shell blocks names an existing
 * command and only that command's current options (no deprecated spellings), and its TypeScript snippets
 * type-check against the built packages.
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sh, tempDir } from './helpers.js';

const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** The bodies of the README's fenced blocks in `language`. */
function blocks(language: string): string[] {
  return [...readme.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

/** Shell command lines (continuations joined) that run mednext, without the `npx ` prefix. */
function mednextLines(): string[] {
  const lines: string[] = [];
  for (const block of blocks('sh')) {
    for (const line of block.replace(/\\\n\s*/g, ' ').split('\n')) {
      const text = line.replace(/#.*$/, '').trim();
      for (const part of text.split(/&&|;/).map((p) => p.trim())) {
        const m = /^(?:npx )?mednext(?: (.*))?$/.exec(part);
        if (m) lines.push(m[1] ?? '');
      }
    }
  }
  return lines;
}

describe('README', () => {
  it('every mednext command line uses an existing command and its current options', async () => {
    const config = await Config.load(path.join(REPO_ROOT, 'packages', 'cli'));
    const commands = new Map(config.commands.map((c) => [c.id, c]));
    const lines = mednextLines();
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      const words = line.split(/\s+/).filter(Boolean);
      // The longest run of leading words that names a command: `model summary`, `demo phantoms`, `demo`.
      let id = '';
      for (let n = Math.min(words.length, 3); n > 0; n--) {
        const candidate = words.slice(0, n).join(':');
        if (commands.has(candidate)) {
          id = candidate;
          break;
        }
      }
      expect(id, `README: 'mednext ${line}' names no command`).not.toBe('');
      const flags = Object.values(commands.get(id)!.flags);
      const names = new Set(flags.map((f) => f.name));
      const negatable = new Set(flags.filter((f) => f.type === 'boolean' && f.allowNo).map((f) => f.name));
      const chars = new Set(flags.map((f) => f.char).filter(Boolean));
      for (const word of words) {
        const long = /^--([a-z][\w-]*)/.exec(word);
        if (long) {
          const name = long[1]!;
          const known = names.has(name) || (name.startsWith('no-') && negatable.has(name.slice(3)));
          expect(known, `README: 'mednext ${line}': ${id.replaceAll(':', ' ')} has no option --${name}`).toBe(true);
        }
        const short = /^-([a-zA-Z])$/.exec(word);
        if (short) expect(chars.has(short[1]), `README: 'mednext ${line}': no option -${short[1]}`).toBe(true);
      }
    }
  });

  it('the TypeScript snippets type-check against the built packages', async () => {
    const snippets = blocks('ts');
    expect(snippets.length).toBeGreaterThan(0);
    const dir = tempDir('mednext-readme-');
    await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    await mkdir(path.join(dir, 'src'));
    const files = await Promise.all(
      snippets.map(async (code, k) => {
        const file = path.join('src', `snippet-${k}.ts`);
        await writeFile(path.join(dir, file), `${code}\nexport {};\n`);
        return file;
      }),
    );
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2023', 'DOM'],
        types: ['node'],
        skipLibCheck: true,
        noUnusedLocals: false,
      },
      files,
    };
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await sh(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir]);
  });
});
