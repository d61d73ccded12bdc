#!/usr/bin/env node
// Entry point of the `mednext` binary: hands control to oclif, which finds the
// compiled commands in ../dist/commands and the bundled task plugins.
import { flush, handle, run, settings } from '@oclif/core';

// Plugins, linked ones included, run from their compiled output (build them with `npm run build`):
// oclif cannot transpile an ESM plugin's TypeScript on the fly and would warn about it on every call.
settings.enableAutoTranspile = false;

// A MedNeXtError's message is the sentence for the user; its `code` is for programs that call the library. Shown as
// any other error ("Error: <message>"), not with oclif's "MedNeXtError: ... Code: ..." rendering. Its subclass
// TaskDefinitionError keeps its name, as before it became one, only without the code line.
const MEDNEXT_ERROR_NAMES = new Set(['MedNeXtError', 'TaskDefinitionError']);
function forTheUser(error) {
  if (!(error instanceof Error) || !MEDNEXT_ERROR_NAMES.has(error.name)) return error;
  const plain = new Error(error.message, error.cause === undefined ? undefined : { cause: error.cause });
  if (error.name === 'MedNeXtError') plain.stack = error.stack?.replace(/^MedNeXtError/, 'Error');
  else {
    plain.name = error.name;
    plain.stack = error.stack;
  }
  return plain;
}

try {
  await run(process.argv.slice(2), import.meta.url);
  await flush();
} catch (error) {
  await handle(forTheUser(error));
}
