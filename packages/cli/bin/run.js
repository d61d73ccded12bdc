#!/usr/bin/env node
// Entry point of the `mednext` binary: hands control to oclif, which finds the
// compiled commands in ../dist/commands and the bundled task plugins.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
