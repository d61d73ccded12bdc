/**
 * The shipped demo model, bundled next to the page and fetched from the page's own origin only when a
 * case runs with it.
 */
import demoWeightsUrl from '../../mednext/models/demo/model.safetensors?url';
import type { NamedBytes } from './protocol.js';

/** Fetches the demo checkpoint. */
export async function demoModel(): Promise<NamedBytes> {
  const response = await fetch(demoWeightsUrl);
  if (!response.ok) throw new Error(`demo model: ${demoWeightsUrl} answered ${response.status}`);
  return { name: 'demo model (model.safetensors)', bytes: await response.arrayBuffer() };
}
