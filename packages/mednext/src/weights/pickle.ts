/**
 * A restricted Python pickle reader (protocols 0-5 opcodes as PyTorch checkpoints use them).
 *
 * Nothing is ever executed: a GLOBAL becomes a {@link PyGlobal} marker, and calling it (REDUCE,
 * NEWOBJ) goes through a caller-supplied `construct` hook that recognises the few callables it
 * knows (e.g. `torch._utils._rebuild_tensor_v2`, `collections.OrderedDict`) and otherwise gets an
 * inert {@link PyObject} record. That makes loading an untrusted checkpoint safe, unlike
 * Python's `torch.load` without `weights_only`.
 */
import { MedNeXtError } from '../errors.js';

/** A reference to a Python global (`module.name`), never resolved. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object built by calling an unknown global: its constructor and arguments, plus BUILD state. */
export class PyObject {
  state: unknown = undefined;
  constructor(
    readonly callable: PyGlobal,
    readonly args: unknown[],
  ) {}
}

/** A Python dict: insertion-ordered, keys of any type (strings, ints, tuples as arrays). */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
  /** BUILD state (e.g. the `_metadata` attribute of a PyTorch state-dict OrderedDict). */
  state: unknown = undefined;
  set(k: unknown, v: unknown): void {
    this.map.set(k, v);
  }
  get(k: unknown): unknown {
    return this.map.get(k);
  }
}

/** A Python tuple (kept distinct from lists for readers that care). */
export class PyTuple extends Array<unknown> {}

/** Hooks that give meaning to globals and persistent ids. */
export interface PickleHooks {
  /** Called for REDUCE/NEWOBJ of a global; return undefined to get an inert {@link PyObject}. */
  construct?: (callable: PyGlobal, args: unknown[]) => unknown;
  /** Resolves a persistent id (BINPERSID / PERSID), e.g. a PyTorch storage reference. */
  persistentLoad?: (pid: unknown) => unknown;
}

function tuple(items: unknown[]): PyTuple {
  const t = new PyTuple();
  t.push(...items);
  return t;
}

/**
 * Unpickles `bytes`.
 * @throws on an unknown opcode or a malformed stream, naming the opcode and its offset
 */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks = {}, source = 'pickle'): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder();
  const stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const fail = (msg: string): never => {
    throw new MedNeXtError('WEIGHTS_INVALID', `${source}: ${msg} at byte ${pos}`, { file: source });
  };
  const need = (n: number): void => {
    if (pos + n > bytes.length) fail('unexpected end of data');
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = Number(view.getBigUint64(pos, true));
    pos += 8;
    return v;
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text argument');
    const s = decoder.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const items = stack.splice(0);
    const prev = metastack.pop();
    if (!prev) fail('MARK expected');
    stack.push(...(prev as unknown[]));
    return items;
  };
  const top = (): unknown => stack[stack.length - 1];
  const littleEndianInt = (b: Uint8Array): number => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return Number(v);
  };
  const call = (callable: unknown, args: unknown[]): unknown => {
    if (!(callable instanceof PyGlobal)) fail('call of a non-global');
    const g = callable as PyGlobal;
    const built = hooks.construct?.(g, args);
    if (built !== undefined) return built;
    if (g.qualifiedName === 'collections.OrderedDict' || g.qualifiedName === 'builtins.dict') return new PyDict();
    return new PyObject(g, args);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof PyDict)) fail('SETITEM(S) on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) (target as PyDict).set(items[i], items[i + 1]);
  };
  const append = (target: unknown, items: unknown[]): void => {
    if (Array.isArray(target)) target.push(...items);
    else if (target instanceof PyObject)
      target.args.push(...items); // e.g. a set-like object: keep the items
    else fail('APPEND(S) on a non-list');
  };

  for (;;) {
    const opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        metastack.push(stack.splice(0));
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new PyObject(new PyGlobal('builtins', 'set'), []));
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x74: // TUPLE
        stack.push(tuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x70: // PUT
        memo.set(Number.parseInt(line(), 10), top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET
        const idx = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(idx)) fail(`memo key ${idx} not found`);
        stack.push(memo.get(idx));
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        stack.push(new PyGlobal(String(module), String(name)));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        stack.push(call(callable, Array.isArray(args) ? [...args] : []));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, Array.isArray(args) ? [...args] : []));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        const cls = pop();
        stack.push(call(cls, Array.isArray(args) ? [...args] : []));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject || obj instanceof PyDict) obj.state = state;
        break;
      }
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(littleEndianInt(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(littleEndianInt(take(u32())));
        break;
      case 0x49: {
        // INT (also True/False as 01/00)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break;
      case 0x47: {
        // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x46: // FLOAT (text)
        stack.push(Number.parseFloat(line()));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x58: // BINUNICODE
        stack.push(decoder.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(decoder.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(decoder.decode(take(u64())));
        break;
      case 0x54: // BINSTRING
        stack.push(decoder.decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(decoder.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()));
        break;
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()));
        break;
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) fail('persistent id without a persistentLoad hook');
        stack.push(hooks.persistentLoad!(pid));
        break;
      }
      case 0x50: {
        // PERSID
        const pid = line();
        if (!hooks.persistentLoad) fail('persistent id without a persistentLoad hook');
        stack.push(hooks.persistentLoad!(pid));
        break;
      }
      case 0x30: // POP
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        pos = opPos;
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
