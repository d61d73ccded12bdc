"""MedNeXt v1 (3-D) in PyTorch, written from ../../../../shared/spec/mednext.md (not the official code),
plus the engine process of the whole-network benchmark and of the GPU benchmark (gpu/gpu-bench.mjs):
`python3 torch_mednext.py TASK.json`. Task fields beyond the CPU benchmark's: `device` ('cpu' default, 'cuda')
and `autocast` (forward under `torch.autocast(device, float16)`, PyTorch's mixed precision; in training with a
GradScaler on CUDA, as nnU-Net's mixed-precision trainers). Training (`part: 'train'`) takes `loss` ('dice-bce',
the default: nnU-Net v1's region loss; 'dice-focal': the seed recipe's batch Dice + focal) and `optimizer`
({'kind': 'adamw'} the default, or {'kind': 'schedulefree', 'lr', 'weightDecay', 'warmupSteps'}: Schedule-Free
AdamW, written below from ../../../../shared/spec/schedulefree.md).

Module and parameter names follow the official state dict, so `load_state_dict(strict=True)` on our
safetensors checkpoints checks the structure as well as loading the weights.
"""
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    """MedNeXtBlock ('block'), MedNeXtDownBlock ('down') or MedNeXtUpBlock ('up'), spec §1.3-1.5."""

    def __init__(self, c_in, c_out, exp_r, k, kind, residual, grn):
        super().__init__()
        self.kind, self.residual, self.grn = kind, residual, grn
        e = exp_r * c_in
        if grn:
            self.grn_beta = nn.Parameter(torch.zeros(1, e, 1, 1, 1))
            self.grn_gamma = nn.Parameter(torch.zeros(1, e, 1, 1, 1))
        if kind == 'up':
            self.conv1 = nn.ConvTranspose3d(c_in, c_in, k, stride=2, padding=k // 2, groups=c_in)
        else:
            self.conv1 = nn.Conv3d(c_in, c_in, k, stride=2 if kind == 'down' else 1, padding=k // 2, groups=c_in)
        self.norm = nn.GroupNorm(c_in, c_in, eps=1e-5)
        self.conv2 = nn.Conv3d(c_in, e, 1)
        self.conv3 = nn.Conv3d(e, c_out, 1)
        if residual and kind == 'down':
            self.res_conv = nn.Conv3d(c_in, c_out, 1, stride=2)
        if residual and kind == 'up':
            self.res_conv = nn.ConvTranspose3d(c_in, c_out, 1, stride=2)

    def forward(self, x):
        h = self.norm(self.conv1(x))
        h = F.gelu(self.conv2(h))  # exact (erf) GELU, PyTorch's default
        if self.grn:
            g = torch.sqrt(torch.sum(h * h, dim=(2, 3, 4), keepdim=True))
            s = g / (g.mean(dim=1, keepdim=True) + 1e-6)
            h = self.grn_gamma * (h * s) + self.grn_beta + h
        h = self.conv3(h)
        if self.kind == 'block':
            return x + h if self.residual else h
        if self.kind == 'down':
            return h + self.res_conv(x) if self.residual else h
        # up: both paths are (2n-1)^3; one zero voxel in front of D, H and W.
        if self.residual:
            h = h + self.res_conv(x)
        return F.pad(h, (1, 0, 1, 0, 1, 0))


class OutBlock(nn.Module):
    def __init__(self, c, n_classes):
        super().__init__()
        self.conv_out = nn.ConvTranspose3d(c, n_classes, 1)

    def forward(self, x):
        return self.conv_out(x)


class MedNeXt(nn.Module):
    """The network of spec §2 from the official constructor arguments."""

    def __init__(self, cfg):
        super().__init__()
        c = cfg['n_channels']
        exp_r = cfg.get('exp_r', 4)
        exp_r = [exp_r] * 9 if isinstance(exp_r, int) else exp_r
        counts = cfg.get('block_counts', [2] * 9)
        k_enc = cfg.get('kernel_size') or cfg.get('enc_kernel_size', 7)
        k_dec = cfg.get('kernel_size') or cfg.get('dec_kernel_size', 7)
        res, res_ud, grn = cfg.get('do_res', False), cfg.get('do_res_up_down', False), cfg.get('grn', False)
        self.ds = cfg.get('deep_supervision', False)
        self.dummy_tensor = nn.Parameter(torch.tensor([1.0]))
        self.stem = nn.Conv3d(cfg['in_channels'], c, 1)

        def stage(n, ch, e, k):
            return nn.Sequential(*[Block(ch, ch, e, k, 'block', res, grn) for _ in range(n)])

        for j in range(4):
            ch = c * 2**j
            setattr(self, f'enc_block_{j}', stage(counts[j], ch, exp_r[j], k_enc))
            setattr(self, f'down_{j}', Block(ch, 2 * ch, exp_r[j + 1], k_enc, 'down', res_ud, grn and j > 0))
        self.bottleneck = stage(counts[4], 16 * c, exp_r[4], k_dec)
        for j in range(3, -1, -1):
            ch = c * 2**j
            setattr(self, f'up_{j}', Block(2 * ch, ch, exp_r[8 - j], k_dec, 'up', res_ud, grn))
            setattr(self, f'dec_block_{j}', stage(counts[8 - j], ch, exp_r[8 - j], k_dec))
        self.out_0 = OutBlock(c, cfg['n_classes'])
        if self.ds:
            for j in range(1, 5):
                setattr(self, f'out_{j}', OutBlock(c * 2**j, cfg['n_classes']))

    def forward(self, x, deep_supervision=None):
        ds = self.ds if deep_supervision is None else deep_supervision
        h = self.stem(x)
        skips = []
        for j in range(4):
            h = getattr(self, f'enc_block_{j}')(h)
            skips.append(h)
            h = getattr(self, f'down_{j}')(h)
        h = self.bottleneck(h)
        ds_out = [self.out_4(h)] if ds else []
        for j in range(3, -1, -1):
            h = getattr(self, f'up_{j}')(h) + skips[j]
            h = getattr(self, f'dec_block_{j}')(h)
            if ds and j > 0:
                ds_out.append(getattr(self, f'out_{j}')(h))
        return [self.out_0(h)] + ds_out[::-1]


def read_safetensors(path):
    """Float32 tensors of a .safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise ValueError(f'{path}: tensor {name} has dtype {info["dtype"]}, only F32 is supported')
        a, b = info['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype='<f4', count=(b - a) // 4, offset=base + a).copy()).reshape(info['shape'])
    return out


def region_loss(logits, target):
    """nnU-Net v1 BraTS-region loss: BCE with logits + (-mean soft Dice), per sample and channel, smooth 0."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    axes = tuple(range(2, logits.dim()))
    tp = (p * target).sum(axes)
    dice = 2 * tp / (p.sum(axes) + target.sum(axes) + 1e-8)
    return bce - dice.mean()


def dice_focal_loss(logits, target, gamma=2.0, smooth=1e-5):
    """The seed recipe's loss: (1 - batch Dice) + sigmoid focal loss (gamma 2, mean over all elements).

    Batch Dice: one coefficient per channel, summed over batch and space, (2tp + smooth) / (sum p + sum y + smooth
    + 1e-8), averaged over channels; focal: (1 - p_t)^gamma * BCE-with-logits. Computed in float32 (under
    autocast the logits arrive in float16).
    """
    logits = logits.float()
    p = torch.sigmoid(logits)
    axes = (0,) + tuple(range(2, logits.dim()))
    tp = (p * target).sum(axes)
    dice = (2 * tp + smooth) / (p.sum(axes) + target.sum(axes) + smooth + 1e-8)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    one_minus_pt = p + target - 2 * p * target
    focal = (one_minus_pt**gamma * bce).mean()
    return (1 - dice.mean()) + focal


class ScheduleFreeAdamW(torch.optim.Optimizer):
    """Schedule-Free AdamW (Defazio et al. 2024) as shared/spec/schedulefree.md describes it.

    The parameters hold y in train mode (gradients are taken there) and x in eval mode; the state holds z and
    Adam's second moment. r = 0, weight_lr_power = 2, no inner momentum (the package's defaults).
    """

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, warmup_steps=warmup_steps, k=0,
                        weight_sum=0.0, lr_max=-1.0, train_mode=False)
        super().__init__(params, defaults)

    @torch.no_grad()
    def _move(self, to_train):
        for group in self.param_groups:
            if group['train_mode'] == to_train:
                continue
            beta1 = group['betas'][0]
            w = 1 - beta1 if to_train else 1 - 1 / beta1  # x -> y, or y -> x (an extrapolation away from z)
            for p in group['params']:
                if 'z' in self.state[p]:
                    p.lerp_(self.state[p]['z'], w)
            group['train_mode'] = to_train

    def train(self):
        self._move(True)

    def eval(self):
        self._move(False)

    @torch.no_grad()
    def step(self, closure=None):
        if not self.param_groups[0]['train_mode']:
            raise RuntimeError('ScheduleFreeAdamW: call train() before step()')
        for group in self.param_groups:
            beta1, beta2 = group['betas']
            k = group['k']
            t = k + 1
            sched = t / group['warmup_steps'] if k < group['warmup_steps'] else 1.0
            bias_correction2 = 1 - beta2**t
            lr = group['lr'] * sched
            group['lr_max'] = lr_max = max(group['lr_max'], lr)
            weight = lr_max**2  # t^r * lr_max^weight_lr_power with r = 0, power 2
            group['weight_sum'] += weight
            c = weight / group['weight_sum'] if group['weight_sum'] != 0 else 0.0
            for y in group['params']:
                g = y.grad
                if g is None:
                    continue
                state = self.state[y]
                if not state:
                    state['z'] = y.detach().clone()
                    state['exp_avg_sq'] = torch.zeros_like(y)
                z, v = state['z'], state['exp_avg_sq']
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                u = g / (v / bias_correction2).sqrt_().add_(group['eps'])
                if group['weight_decay'] != 0:
                    u.add_(y, alpha=group['weight_decay'])  # decoupled, at y
                y.lerp_(z, c).add_(u, alpha=lr * (beta1 * (1 - c) - 1))  # with the old z
                z.sub_(u, alpha=lr)
            group['k'] = t
        return None


def target_pyramid(target):
    """Order-0 DS targets from the full-resolution one: voxel f*i + f/2 for factor f (spec §5)."""
    out = [target]
    for f in (2, 4, 8, 16):
        out.append(target[:, :, f // 2 :: f, f // 2 :: f, f // 2 :: f].contiguous())
    return out


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main():
    task = json.load(open(sys.argv[1]))
    load1_start = os.getloadavg()[0]
    torch.set_num_threads(task['threads'])
    torch.manual_seed(0)
    device = torch.device(task.get('device', 'cpu'))
    cuda = device.type == 'cuda'
    use_autocast = bool(task.get('autocast', False))
    if cuda and not use_autocast:
        # 'fp32' means float32 arithmetic: PyTorch lets cuDNN convolutions run in TF32 (10-bit mantissa) on Ampere
        # and later by default, which would make this engine neither a float32 reference for the output and loss
        # checks nor what its name says.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    model = MedNeXt(task['config'])
    model.load_state_dict(read_safetensors(task['weights']), strict=True)
    model.to(device)
    x = torch.from_numpy(np.fromfile(task['input'], dtype='<f4').reshape(task['inputShape'])).to(device)

    def sync():
        # CUDA runs asynchronously: a time is only taken once the device has finished.
        if cuda:
            torch.cuda.synchronize(device)

    if task['part'] == 'train':
        model.train()
        if cuda:
            # nnU-Net trains with cuDNN's autotuner on (fixed patch size): the warm-up steps absorb its search.
            torch.backends.cudnn.benchmark = True
        target = torch.from_numpy(np.fromfile(task['target'], dtype='<f4').reshape(task['targetShape'])).to(device)
        targets = target_pyramid(target)
        weights = [w / 31 for w in (16, 8, 4, 2, 1)]
        loss_fn = {'dice-bce': region_loss, 'dice-focal': dice_focal_loss}[task.get('loss', 'dice-bce')]
        sf = task.get('optimizer', {'kind': 'adamw'})
        if sf['kind'] == 'schedulefree':
            opt = ScheduleFreeAdamW(model.parameters(), lr=sf['lr'], weight_decay=sf.get('weightDecay', 0.0),
                                    warmup_steps=sf.get('warmupSteps', 0))
            opt.train()
        else:
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=3e-5, eps=1e-4)
        # Mixed precision as nnU-Net trains with it: autocast forward, scaled loss, unscale before the update.
        scaler = torch.amp.GradScaler('cuda') if use_autocast and cuda else None

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_autocast):
                outs = model(x, deep_supervision=True)
            loss = sum(w * loss_fn(o.float(), t) for w, o, t in zip(weights, outs, targets))
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            sync()
            return loss.detach().item()
    else:
        model.eval()

        def step():
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.float16, enabled=use_autocast):
                out = model(x, deep_supervision=False)[0]
            sync()
            return out

    times, cpu_runs, first_out, loss, losses = [], [], None, None, []
    total = 1 + task['warmup'] + task['runs']
    for r in range(total):
        t0, c0 = time.perf_counter(), time.process_time()
        out = step()
        times.append(time.perf_counter() - t0)
        cpu_runs.append(time.process_time() - c0)  # all threads of the process
        if r == 0:
            startup = time.time() - task['spawnedAt'] / 1000  # includes interpreter start and imports
            if task['part'] == 'forward':
                first_out = out
        if task['part'] == 'train':
            loss = out
            losses.append(out)
        print(f'  {task.get("label", "torch")} {task["model"]} {task["part"]} run {r}/{total - 1}: {times[-1]:.2f} s', file=sys.stderr, flush=True)
    if first_out is not None and task.get('output'):
        first_out.float().cpu().numpy().astype('<f4').tofile(task['output'])
    steady = sorted(times[1 + task['warmup'] :])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        'engine': 'torch',
        'firstSeconds': times[0],
        'startupToFirstSeconds': startup,
        'runs': times,
        'cpuRuns': cpu_runs,
        'steadySeconds': steady[len(steady) // 2] if steady else None,  # JSON has no NaN
        'maxRssBytes': max_rss_bytes(),
        'cpu': {'user': usage.ru_utime, 'system': usage.ru_stime},
        'load1Start': load1_start,
        'load1End': os.getloadavg()[0],
        'loss': loss,
        'losses': losses,  # per step, each before its update (the first: at the initial weights)
        'info': {
            'torch': torch.__version__,
            'threads': torch.get_num_threads(),
            'device': torch.cuda.get_device_name(device) if cuda else 'cpu',
            'autocast': 'float16' if use_autocast else None,
            'tf32': bool(cuda and torch.backends.cudnn.allow_tf32),
        },
    }
    if cuda:
        # PyTorch's caching allocator: bytes of live tensors at their peak, and bytes held from the driver.
        result['gpuPeakBytes'] = torch.cuda.max_memory_allocated(device)
        result['gpuReservedPeakBytes'] = torch.cuda.max_memory_reserved(device)
        result['gpuPeakSource'] = 'torch.cuda.max_memory_allocated'
        result['cudaVersion'] = torch.version.cuda
    print('\nBENCH_RESULT ' + json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
