#!/usr/bin/env node
// Entry point of the `mednext` binary: hands control to oclif, which finds the
// compiled commands in ../dist/commands and the bundled task plugins.
import { execute, settings } from '@oclif/core';

// Plugins, linked ones included, run from their compiled output (build them with `npm run build`):
// oclif cannot transpile an ESM plugin's TypeScript on the fly and would warn about it on every call.
settings.enableAutoTranspile = false;

await execute({ dir: import.meta.url });
