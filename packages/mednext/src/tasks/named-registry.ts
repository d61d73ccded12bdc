/**
 * Name -> implementation tables that plugins extend (normalisations, losses, postprocessing
 * steps): a task names a strategy, the registry supplies it.
 */
import { MedNeXtError } from '../errors.js';

/** What every registry entry has. */
export interface RegistryEntry {
  /** Name used in task definitions, e.g. `zscore-nonzero`. */
  name: string;
  /** One line for listings. */
  description: string;
  /** Package that registered it (built-ins: `@mednext-ts/mednext`). */
  source?: string;
}

/** Options of {@link NamedRegistry.register}. */
export interface RegisterOptions {
  /** Replace an entry of the same name instead of failing. */
  override?: boolean;
}

/** A table of named entries of one kind. */
export class NamedRegistry<T extends RegistryEntry> {
  private readonly entries = new Map<string, T>();

  /** @param kind - what the entries are, for error messages (e.g. `normalisation`). */
  constructor(readonly kind: string) {}

  /**
   * Adds an entry. A name that is already registered is an error naming both sources unless
   * `override` is set.
   */
  register(entry: T, options: RegisterOptions = {}): void {
    if (!entry || typeof entry.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(entry.name))
      throw new MedNeXtError(
        'REGISTRY_NAME_INVALID',
        `${this.kind} name must be lower-case letters, digits and dashes, got ${String(entry?.name)}`,
      );
    const existing = this.entries.get(entry.name);
    if (existing && !options.override) {
      throw new MedNeXtError(
        'REGISTRY_DUPLICATE',
        `${this.kind} '${entry.name}' from ${entry.source ?? 'an unnamed source'} is already registered by ${existing.source ?? 'an unnamed source'} (pass { override: true } to replace it)`,
      );
    }
    this.entries.set(entry.name, entry);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry of this name; the error lists the names that exist. */
  get(name: string): T {
    const found = this.entries.get(name);
    if (!found)
      throw new MedNeXtError(
        'REGISTRY_UNKNOWN',
        `unknown ${this.kind} '${name}' (known: ${this.names().join(', ') || 'none'})`,
      );
    return found;
  }

  /** Registered names, sorted. */
  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Entries sorted by name. */
  list(): T[] {
    return this.names().map((n) => this.entries.get(n)!);
  }
}

/** Source recorded for the built-in entries. */
export const BUILT_IN = '@mednext-ts/mednext';
