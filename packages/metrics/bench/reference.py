#!/usr/bin/env python3
"""SciPy reference of the BraTS 2024 lesion-wise metrics, for benchmarks and cross-checks.

Written from shared/spec/brats-metrics.md (not copied from the official code). It follows the
official code's way of computing, i.e. whole-volume NumPy/SciPy operations per region and per
lesion (binary_dilation, connected components, DeepMind-style surface distances with
ndimage.correlate + distance_transform_edt), without the official code's temporary NIfTI files.

Usage:
  reference.py GT PRED TASK [--repeat N]            GT/PRED: .nii/.nii.gz label maps
  reference.py GT.raw PRED.raw TASK --shape X Y Z --spacing SX SY SZ [--repeat N]
      (.raw: uint8 voxels in C order, last axis fastest)
Prints one JSON object: {"seconds": [...], "regions": {...}, "lesions": [...]}.
"""
import argparse
import json
import os
import time

import numpy as np
from scipy import ndimage

TASKS = {
    'ssa': dict(regions={'WT': [1, 2, 3], 'TC': [1, 3], 'ET': [3]}, netc=[1], d=3, t_gt=50, t_pred=50),
    'ped': dict(
        regions={'WT': [1, 2, 3, 4], 'TC': [1, 2, 3], 'ET': [1], 'NETC': [2], 'CC': [3], 'ED': [4]},
        netc=None, d=5, t_gt=10, t_pred=10,
    ),
}
PENALTY = 374.0
S18 = ndimage.generate_binary_structure(3, 2)
S26 = np.ones((3, 3, 3), bool)
KERNEL = np.array([[[128, 64], [32, 16]], [[8, 4], [2, 1]]])
TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'brats-metrics',
                     'surface_distance_neighbour_code_table.json')


def area_table(spacing):
    with open(TABLE) as f:
        normals = json.load(f)['neighbour_code_to_normals']
    s0, s1, s2 = spacing
    out = np.zeros(256)
    for code, ns in enumerate(normals):
        out[code] = sum(np.linalg.norm([n[0] * s1 * s2, n[1] * s0 * s2, n[2] * s0 * s1]) for n in ns)
    return out


def label26(mask):
    """26-connected components numbered by first voxel in C order."""
    lab, n = ndimage.label(mask, structure=S26)
    if n == 0:
        return lab, 0
    flat = lab.ravel()
    vals, first = np.unique(flat, return_index=True)
    keep = vals != 0
    order = np.argsort(first[keep])
    remap = np.zeros(n + 1, np.int64)
    remap[vals[keep][order]] = np.arange(1, n + 1)
    return remap[lab], n


def group(mask, d):
    dil = ndimage.binary_dilation(mask, structure=S18, iterations=d)
    lab, n = label26(dil)
    return np.where(mask, lab, 0)


def filter_small(lab, t):
    counts = np.bincount(lab.ravel())
    small = np.nonzero(counts <= t)[0]
    return np.where(np.isin(lab, small), 0, lab)


def merge_et(et, netc):
    pairs = set()
    for e in np.unique(et)[1:]:
        touch = ndimage.binary_dilation(et == e, structure=S18)
        for n in np.unique(netc[touch])[1:]:
            pairs.add((int(e), int(n)))
    if len(pairs) >= 2:
        m = int(et.max())
        fresh, mapping = {}, {}
        for e, n in sorted(pairs):
            if n not in fresh:
                fresh[n] = m + 1 + len(fresh)
        for e, n in sorted(pairs):
            mapping.setdefault(e, fresh[n])
        out = et.copy()
        for e, v in mapping.items():
            out[et == e] = v
        et = out
    vals = np.unique(et)[1:]
    remap = np.zeros(int(et.max()) + 1, np.int64)
    remap[vals] = np.arange(1, len(vals) + 1)
    return remap[et]


def surface_distances(a, b, spacing, areas):
    union = (a != 0) | (b != 0)
    if not union.any():
        return (np.zeros(0), np.zeros(0)), (np.zeros(0), np.zeros(0))
    idx = np.argwhere(union)
    lo, hi = idx.min(0), idx.max(0)

    def prep(m):
        c = np.zeros(hi - lo + 2, np.uint8)
        c[:-1, :-1, :-1] = (m[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1].astype(np.int64) & 255)
        code = ndimage.correlate(c, KERNEL, mode='constant', cval=0)
        return code, (code != 0) & (code != 255)

    ca, ba = prep(a)
    cb, bb = prep(b)
    da = ndimage.distance_transform_edt(~bb, sampling=spacing) if bb.any() else np.full(bb.shape, np.inf)
    db = ndimage.distance_transform_edt(~ba, sampling=spacing) if ba.any() else np.full(ba.shape, np.inf)

    def directed(dist, border, code):
        d, s = dist[border], areas[code[border]]
        order = np.lexsort((s, d))
        return d[order], s[order]

    return directed(da, ba, ca), directed(db, bb, cb)


def hd95(a, b, spacing, areas):
    res = []
    for d, s in surface_distances(a, b, spacing, areas):
        if len(d) == 0:
            res.append(np.inf)
            continue
        cum = np.cumsum(s) / np.sum(s)
        i = np.searchsorted(cum, 0.95)
        res.append(d[min(i, len(d) - 1)])
    return max(res)


def evaluate(gt, pred, task, spacing):
    t = TASKS[task]
    spacing = tuple(float(np.float32(s)) for s in spacing)
    vv = lambda n: n * spacing[0] * spacing[1] * spacing[2]  # noqa: E731
    areas = area_table(spacing)
    regions, lesions = {}, []
    for name, labels in t['regions'].items():
        G = group(np.isin(gt, labels), t['d'])
        P = filter_small(group(np.isin(pred, labels), t['d']), t['t_pred'])
        if task == 'ssa' and name == 'ET':
            G = merge_et(G, group(np.isin(gt, t['netc']), t['d']))
            P = merge_et(P, filter_small(group(np.isin(pred, t['netc']), t['d']), t['t_pred']))
        matched_all, dices, hds, tp, fn = set(), 0.0, 0.0, 0, 0
        counted = 0
        for g in range(1, int(G.max()) + 1):
            L = G == g
            roi = ndimage.binary_dilation(L, structure=S18, iterations=t['d'])
            m = np.unique(P[roi])
            m = m[m != 0]
            matched_all.update(int(x) for x in m)
            Pg = np.isin(P, m)
            dice = 2 * np.logical_and(L, Pg).sum() / (L.sum() + Pg.sum())
            hd = hd95(L, Pg, spacing, areas)
            hd = PENALTY if hd == np.inf else hd
            vol = vv(int(L.sum()))
            is_counted = vol > t['t_gt']
            if is_counted:
                counted += 1
                dices += dice
                hds += hd
                tp, fn = (tp + 1, fn) if len(m) else (tp, fn + 1)
            lesions.append(dict(region=name, gt_lesion_number=g, gt_lesion_vol=vol,
                                matched_pred_components=[int(x) for x in m], dice_lesionwise=float(dice),
                                hd95_lesionwise=float(hd), counted_in_score=bool(is_counted)))
        fp = [int(p) for p in np.unique(P)[1:] if int(p) not in matched_all]
        denom = counted + len(fp)
        g_any, p_any = G > 0, P > 0
        if not g_any.any() and not p_any.any():
            ldice, lhd = 1.0, 0.0
        else:
            ldice = 2 * np.logical_and(g_any, p_any).sum() / (g_any.sum() + p_any.sum())
            lhd = hd95(G, P, spacing, areas)
            lhd = PENALTY if lhd == np.inf else lhd
        iC, rC = P.sum(), G.sum()
        TP = int(((P == 1) & (G == 1)).sum())
        TN = int(((P != 1) & (G != 1)).sum())
        tiny = np.finfo(float).tiny
        sens = 1.0 if (iC == 0 and rC == 0) else TP / (TP + (rC - TP) + tiny)
        spec = TN / (TN + (iC - TP) + tiny)
        regions[name] = dict(Num_TP=tp, Num_FP=len(fp), Num_FN=fn, Sensitivity=float(sens), Specificity=float(spec),
                             Legacy_Dice=float(ldice), Legacy_HD95=float(lhd), GT_Complete_Volume=vv(int(g_any.sum())),
                             LesionWise_Score_Dice=float(dices / denom) if denom else 1.0,
                             LesionWise_Score_HD95=float((hds + PENALTY * len(fp)) / denom) if denom else 0.0)
    return regions, lesions


def load(path, shape):
    if path.endswith('.raw'):
        return np.fromfile(path, np.uint8).reshape(shape).astype(np.int64), None
    import nibabel as nib
    img = nib.load(path)
    zooms = np.linalg.norm(img.affine[:3, :3], axis=0)
    return np.asarray(img.dataobj).astype(np.int64), tuple(zooms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('gt')
    ap.add_argument('pred')
    ap.add_argument('task', choices=['ssa', 'ped'])
    ap.add_argument('--shape', type=int, nargs=3)
    ap.add_argument('--spacing', type=float, nargs=3)
    ap.add_argument('--repeat', type=int, default=1)
    args = ap.parse_args()
    gt, _ = load(args.gt, args.shape)
    pred, zooms = load(args.pred, args.shape)
    spacing = args.spacing or zooms
    seconds = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        regions, lesions = evaluate(gt, pred, args.task, spacing)
        seconds.append(time.perf_counter() - t0)
    print(json.dumps(dict(seconds=seconds, regions=regions, lesions=lesions)))


if __name__ == '__main__':
    main()
