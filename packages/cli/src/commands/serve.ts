import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Flags } from '@oclif/core';
import { serveStatic } from '../lib/static-server.js';

/** Folder of the built web app (`@mednext-ts/web`'s `dist/`). */
function webAppDir(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.resolve('@mednext-ts/web/package.json'))), 'dist');
}

/** `mednext serve`: the web app on this machine. */
export default class Serve extends Command {
  static override summary = 'Segment cases in a local web app (nothing uploaded).';

  static override description =
    'Serve the mednext web app locally: segment cases in a browser on this machine, nothing uploaded. The page is ' +
    'served with the cross-origin isolation headers (COOP/COEP) WebAssembly threads need; the same folder can be put ' +
    'on any static host that sends them.';

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --port 9000',
    '<%= config.bin %> serve --host 0.0.0.0 --port 8080',
  ];

  static override flags = {
    port: Flags.integer({ char: 'p', description: 'TCP port (0: any free port)', default: 8080, min: 0, max: 65535 }),
    host: Flags.string({
      description: 'address to listen on (default: this machine only; 0.0.0.0 makes it reachable on the network)',
      default: '127.0.0.1',
    }),
    dir: Flags.string({ description: 'folder to serve instead of the bundled web app (e.g. your own build)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    const dir = flags.dir ?? webAppDir();
    const index = await stat(path.join(dir, 'index.html')).catch(() => null);
    if (!index?.isFile()) {
      this.error(
        `${dir} holds no built web app (index.html is missing); build it with \`npm run build -w @mednext-ts/web\``,
        { exit: 2 },
      );
    }
    let server;
    try {
      server = await serveStatic(dir, { port: flags.port, host: flags.host });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.error(
        code === 'EADDRINUSE'
          ? `port ${flags.port} is in use; pick another with --port (or --port 0 for any free one)`
          : `cannot listen on ${flags.host}:${flags.port}: ${(error as Error).message}`,
        { exit: 2 },
      );
    }
    this.log(`mednext web app: ${server.origin}/ (serving ${dir}; Ctrl+C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  }
}
