/** Dedicated worker that runs MedNeXt forward requests (see mednext.ts). */
import { mednextForwardHere } from './mednext.js';
import { serveInWorker } from './worker-call.js';

serveInWorker(mednextForwardHere);
