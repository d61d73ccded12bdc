/**
 * Reading PyTorch checkpoints (`torch.save`, zip format of PyTorch ≥ 1.6): `<archive>/data.pkl`
 * holds the pickled object, `<archive>/data/<key>` the raw little-endian storages. Tensors are
 * rebuilt from `torch._utils._rebuild_tensor_v2` calls (any strides), converted to float32.
 * Nothing in the file is executed (see {@link unpickle}).
 */
import { unpickle, PyDict, PyGlobal, PyObject } from './pickle.js';
import { openZip, type InflateRaw } from './zip.js';
import { shapeSize, type StateDict } from './tensor-map.js';
import { MedNeXtError } from '../errors.js';

interface StorageRef {
  dtype: string;
  key: string;
  numel: number;
}

const STORAGE_DTYPES: Record<string, { size: number; read: (v: DataView, o: number) => number }> = {
  FloatStorage: { size: 4, read: (v, o) => v.getFloat32(o, true) },
  DoubleStorage: { size: 8, read: (v, o) => v.getFloat64(o, true) },
  HalfStorage: { size: 2, read: (v, o) => halfToFloat(v.getUint16(o, true)) },
  BFloat16Storage: {
    size: 2,
    read: (v, o) => new Float32Array(new Uint32Array([v.getUint16(o, true) << 16]).buffer)[0],
  },
  LongStorage: { size: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  IntStorage: { size: 4, read: (v, o) => v.getInt32(o, true) },
  ShortStorage: { size: 2, read: (v, o) => v.getInt16(o, true) },
  CharStorage: { size: 1, read: (v, o) => v.getInt8(o) },
  ByteStorage: { size: 1, read: (v, o) => v.getUint8(o) },
  BoolStorage: { size: 1, read: (v, o) => v.getUint8(o) },
};

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** A tensor rebuilt from the checkpoint (float32, C order). */
class TorchTensor {
  constructor(
    readonly shape: number[],
    readonly data: Float32Array,
  ) {}
}

/** Options of {@link readPth}. */
export interface ReadPthOptions {
  /** Needed only for deflated archive entries (PyTorch writes stored entries). */
  inflateRaw?: InflateRaw;
}

/** A PyTorch checkpoint's state dict and where it was found. */
export interface PthCheckpoint {
  tensors: StateDict;
  /** Path of the state dict inside the pickled object, e.g. `state_dict` or `` for a bare state dict. */
  location: string;
  /** Non-tensor entries of the state dict (skipped), e.g. integer buffers kept as numbers. */
  skipped: string[];
}

/** Whether the bytes look like a ZIP archive (a PyTorch ≥ 1.6 checkpoint). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

function tensorDict(value: unknown): PyDict | null {
  if (!(value instanceof PyDict) || value.map.size === 0) return null;
  let tensors = 0;
  for (const [k, v] of value.map) {
    if (typeof k !== 'string') return null;
    if (v instanceof TorchTensor) tensors++;
  }
  return tensors > 0 ? value : null;
}

/**
 * Reads a PyTorch `.pth`/`.pt` checkpoint and returns its state dict: the object itself when it is
 * a name → tensor dict, else its `state_dict` (nnU-Net trainers), `model`, `network_weights` or
 * `model_state_dict` entry.
 * @throws for legacy (pre-1.6, non-zip) checkpoints, unknown storage types or when no state dict is found
 */
export function readPth(bytes: Uint8Array, source = 'PyTorch checkpoint', options: ReadPthOptions = {}): PthCheckpoint {
  if (!isZip(bytes)) {
    throw new MedNeXtError(
      'WEIGHTS_UNSUPPORTED',
      `${source}: not a zip-format PyTorch checkpoint (legacy torch.save files from PyTorch < 1.6 are not supported; ` +
        're-save with a current PyTorch or convert to .safetensors)',
      { file: source },
    );
  }
  const zip = openZip(bytes, source, options.inflateRaw);
  const pklName = [...zip.entries.keys()].find((n) => n.endsWith('data.pkl') && n.split('/').length === 2);
  if (!pklName)
    throw new MedNeXtError('WEIGHTS_INVALID', `${source}: no <archive>/data.pkl entry; is this a torch.save file?`, {
      file: source,
    });
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const storages = new Map<string, DataView>();
  const loadStorage = (ref: StorageRef): DataView => {
    let view = storages.get(ref.key);
    if (!view) {
      const raw = zip.read(`${prefix}data/${ref.key}`);
      view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      storages.set(ref.key, view);
    }
    return view;
  };
  const root = unpickle(
    zip.read(pklName),
    {
      persistentLoad: (pid) => {
        if (!Array.isArray(pid) || pid[0] !== 'storage')
          throw new MedNeXtError('WEIGHTS_INVALID', `${source}: unknown persistent id`, { file: source });
        const [, type, key, , numel] = pid as [string, unknown, string, string, number];
        const typeName = type instanceof PyGlobal ? type.name : String(type);
        if (!(typeName in STORAGE_DTYPES))
          throw new MedNeXtError('WEIGHTS_UNSUPPORTED', `${source}: unsupported storage type ${typeName}`, {
            file: source,
          });
        return { dtype: typeName, key: String(key), numel: Number(numel) } satisfies StorageRef;
      },
      construct: (callable, args) => {
        const name = callable.qualifiedName;
        if (name === 'torch._utils._rebuild_tensor_v2' || name === 'torch._utils._rebuild_tensor') {
          const [storage, offset, size, stride] = args as [StorageRef, number, number[], number[]];
          return rebuildTensor(storage, offset, [...size], [...stride], loadStorage, source);
        }
        if (name === 'torch._utils._rebuild_parameter' || name === 'torch._utils._rebuild_parameter_with_state') {
          return args[0];
        }
        return undefined;
      },
    },
    `${source} (${pklName})`,
  );
  const candidates: Array<[string, unknown]> = [['', root]];
  if (root instanceof PyDict) {
    for (const key of ['state_dict', 'model', 'network_weights', 'model_state_dict', 'module']) {
      if (root.map.has(key)) candidates.push([key, root.get(key)]);
    }
  }
  for (const [location, value] of candidates) {
    const dict = tensorDict(value);
    if (!dict) continue;
    const tensors: StateDict = new Map();
    const skipped: string[] = [];
    for (const [k, v] of dict.map) {
      if (v instanceof TorchTensor) tensors.set(k as string, { shape: v.shape, data: v.data });
      else skipped.push(k as string);
    }
    return { tensors, location, skipped };
  }
  const keys = root instanceof PyDict ? [...root.map.keys()].map(String).join(', ') : describe(root);
  throw new MedNeXtError('WEIGHTS_INVALID', `${source}: no state dict of tensors found (top-level keys: ${keys})`, {
    file: source,
  });
}

function describe(v: unknown): string {
  if (v instanceof PyObject) return `an object of ${v.callable.qualifiedName}`;
  return typeof v;
}

function rebuildTensor(
  storage: StorageRef,
  offset: number,
  size: number[],
  stride: number[],
  load: (ref: StorageRef) => DataView,
  source: string,
): TorchTensor {
  const { size: bytesPer, read } = STORAGE_DTYPES[storage.dtype];
  const view = load(storage);
  const count = shapeSize(size);
  const data = new Float32Array(count);
  let maxIndex = offset;
  for (let d = 0; d < size.length; d++) if (size[d] > 0) maxIndex += (size[d] - 1) * stride[d];
  if (count > 0 && (maxIndex + 1) * bytesPer > view.byteLength) {
    throw new MedNeXtError(
      'WEIGHTS_INVALID',
      `${source}: tensor of shape [${size.join(', ')}] reads past the end of storage ${storage.key}`,
      { file: source },
    );
  }
  // Walk the (possibly non-contiguous) strided layout in C order.
  const idx = new Array<number>(size.length).fill(0);
  let src = offset;
  for (let i = 0; i < count; i++) {
    data[i] = read(view, src * bytesPer);
    for (let d = size.length - 1; d >= 0; d--) {
      idx[d]++;
      src += stride[d];
      if (idx[d] < size[d]) break;
      src -= stride[d] * size[d];
      idx[d] = 0;
    }
  }
  return new TorchTensor(size, data);
}
