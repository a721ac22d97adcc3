"""The release's networks in PyTorch, written from the spec with its state_dict key names.

Sizes come from a ModelConfig so the same reference serves the tiny parity tests, the
official-size check and the benchmarks. NCHW / NCTHW layout, as the release. torch is optional
for the package: only this module, the converter and the tests import it.
"""

from __future__ import annotations

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tanet_jax.torch_reference needs PyTorch: pip install torch==2.13.0 "
        "(or pip install -e '.[convert]')"
    ) from error

from tanet_jax.models.model_config import ModelConfig



def nchw(x: np.ndarray) -> torch.Tensor:
    """NHWC numpy -> NCHW torch, the release's image layout."""
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))


def ncthw(x: np.ndarray) -> torch.Tensor:
    """(B,T,H,W,C) numpy -> (B,C,T,H,W) torch, the release's clip layout."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3)))

class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.downsample is not None:
            x = self.downsample(x)
        return self.relu(y + x)


class ResNet18(nn.Module):
    """torchvision's resnet18 layout; forward returns layer2, layer3, layer4."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, c.resnet_stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(c.resnet_stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = c.resnet_stem
        for i, (w, n) in enumerate(zip(c.resnet_widths, c.resnet_blocks)):
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, 1000)

    def forward(self, x: torch.Tensor):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x1 = self.layer1(x)
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        x4 = self.layer4(x3)
        return x2, x3, x4


def _c3d_convs(module: nn.Module, widths) -> None:
    w1, w2, w3, w4, w5 = widths
    for name, cin, cout in (("conv1", 3, w1), ("conv2", w1, w2), ("conv3a", w2, w3), ("conv3b", w3, w3),
                            ("conv4a", w3, w4), ("conv4b", w4, w4), ("conv5a", w4, w5), ("conv5b", w5, w5)):
        setattr(module, name, nn.Conv3d(cin, cout, 3, padding=1))


class C3DMotion(nn.Module):
    """The generator's motion encoder (with the dead fc6-fc8 of the release)."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        _c3d_convs(self, c.c3d_widths)
        self.pool1 = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
        self.pool2 = nn.MaxPool3d(2, 2)
        self.pool5 = nn.MaxPool3d(2, 2, padding=1)
        official = c.c3d_widths[-1] == 512
        self.fc6 = nn.Linear(8192 if official else c.c3d_widths[-1] * 16, 4096 if official else 32)
        self.fc7 = nn.Linear(self.fc6.out_features, self.fc6.out_features)
        self.fc8 = nn.Linear(self.fc6.out_features, 487 if official else 7)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.relu
        x = self.pool1(r(self.conv1(x)))
        x = self.pool2(r(self.conv2(x)))
        x = r(self.conv3b(r(self.conv3a(x))))
        x = r(self.conv4b(r(self.conv4a(x))))
        x = r(self.conv5b(r(self.conv5a(x))))
        return self.pool5(x)


class TANetGenerator(nn.Module):
    """Keys: encoder.*, decoder.{0,1,2,4,...}, mymodules.0, motionModel.*"""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.size = c.input_size
        self.encoder = ResNet18(c)
        widths = c.resnet_widths
        cin = 2 * (widths[1] + widths[2] + widths[3]) + c.c3d_widths[-1]
        layers: list[nn.Module] = []
        for s, (w, n) in enumerate(c.decoder_stages):
            if s > 0:
                layers.append(nn.Upsample(scale_factor=2))
            for _ in range(n):
                layers.append(nn.ConvTranspose2d(cin, w, 3, 1, 1))
                cin = w
        self.decoder = nn.Sequential(*layers)
        self.mymodules = nn.Sequential(nn.ConvTranspose2d(cin, 1, 1, 1, 0), nn.Sigmoid())
        self.motionModel = C3DMotion(c)

    def forward(self, frame: torch.Tensor, target: torch.Tensor, clip: torch.Tensor) -> torch.Tensor:
        f2, f3, f4 = self.encoder(frame)
        t2, t3, t4 = self.encoder(target)
        m = self.motionModel(clip).squeeze(2)
        size = f3.shape[2:]
        x = torch.cat([
            F.interpolate(torch.cat([f2, t2], 1), size=size),
            torch.cat([f3, t3], 1),
            F.interpolate(torch.cat([f4, t4], 1), size=size),
            F.interpolate(m, size=size),
        ], 1)
        x = self.mymodules(self.decoder(x))
        return F.interpolate(x, size=(self.size, self.size))[:, 0]


class AppearanceD(nn.Module):
    """Keys: conv1.0, conv2.0, conv3.0, fc4.0, fc5.1; ends in ReLU as the release."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        w1, w2, w3 = c.dapp_widths
        self.conv1 = nn.Sequential(nn.Conv2d(4, w1, 7, 2), nn.ReLU(), nn.LocalResponseNorm(2), nn.MaxPool2d(3, 2))
        self.conv2 = nn.Sequential(nn.Conv2d(w1, w2, 5, 2), nn.ReLU(), nn.LocalResponseNorm(2), nn.MaxPool2d(3, 2))
        self.conv3 = nn.Sequential(nn.Conv2d(w2, w3, 3, 1), nn.ReLU())
        s = c.input_size
        s = ((s - 7) // 2 + 1 - 3) // 2 + 1
        s = ((s - 5) // 2 + 1 - 3) // 2 + 1
        s = s - 2
        self.fc4 = nn.Sequential(nn.Linear(w3 * s * s, c.dapp_fc), nn.ReLU())
        self.fc5 = nn.Sequential(nn.Dropout(0.5), nn.Linear(c.dapp_fc, 1), nn.ReLU())

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image, mask], 1)
        x = self.conv3(self.conv2(self.conv1(x)))
        return self.fc5(self.fc4(x.flatten(1)))[:, 0]


class MotionD(nn.Module):
    """C3D trunk names plus conv_2D.0, fc4.0, fc5.1; ends in ReLU as the release."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        _c3d_convs(self, c.c3d_widths)
        self.pool1 = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
        self.pool2 = nn.MaxPool3d(2, 2)
        self.pool3 = nn.MaxPool3d(2, 2)
        self.pool4 = nn.MaxPool3d((1, 2, 2), (2, 2, 2))
        self.relu = nn.ReLU()
        self.conv_2D = nn.Sequential(nn.Conv2d(c.c3d_widths[-1], c.dmot_conv, 3, 2), nn.ReLU(),
                                     nn.LocalResponseNorm(2), nn.MaxPool2d(3, 2))
        s = c.input_size // 2 // 2 // 2
        s = (s - 2) // 2 + 1
        s = ((s - 3) // 2 + 1 - 3) // 2 + 1
        self.fc4 = nn.Sequential(nn.Linear(c.dmot_conv * s * s, c.dmot_fc), nn.ReLU())
        self.fc5 = nn.Sequential(nn.Dropout(0.5), nn.Linear(c.dmot_fc, 1), nn.ReLU())

    def forward(self, clip: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        r = self.relu
        x = torch.cat([clip, masks], 2)
        x = self.pool1(r(self.conv1(x)))
        x = self.pool2(r(self.conv2(x)))
        x = self.pool3(r(self.conv3b(r(self.conv3a(x)))))
        x = self.pool4(r(self.conv4b(r(self.conv4a(x)))))
        x = r(self.conv5b(r(self.conv5a(x)))).squeeze(2)
        x = self.conv_2D(x)
        return self.fc5(self.fc4(x.flatten(1)))[:, 0]


def randomize_(model: nn.Module, seed: int) -> nn.Module:
    """Random weights and BatchNorm statistics, so eval-mode BN is not the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if not p.is_floating_point():
                continue
            if name.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 + 0.75)
            elif name.endswith("running_mean"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif "bn" in name or "downsample.1" in name:
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 + 0.75 if name.endswith("weight")
                        else torch.randn(p.shape, generator=g) * 0.1)
            else:
                fan_in, gain = (p[0].numel() if p.ndim > 1 else p.numel()), 2.0
                if name.startswith(("decoder", "mymodules")):
                    # ConvTranspose weights are (in, out, k, k); no ReLU between them: gain 1.
                    fan_in, gain = p.shape[0] * p[0, 0].numel() if p.ndim > 1 else p.numel(), 1.0
                p.copy_(torch.randn(p.shape, generator=g) * (gain / fan_in) ** 0.5)
    return model


def calibrate_head_(model: TANetGenerator, *inputs: torch.Tensor, logit_std: float = 1.5) -> float:
    """Centre and scale the 1x1 head so logits have mean 0 and the given spread: a saturated
    sigmoid hides errors."""
    captured = {}
    hook = model.mymodules[0].register_forward_hook(lambda m, i, o: captured.setdefault("o", o))
    with torch.no_grad():
        model(*inputs)
        hook.remove()
        out = captured["o"]
        scale = logit_std / float(out.std())
        model.mymodules[0].weight.mul_(scale)
        model.mymodules[0].bias.sub_(float(out.mean())).mul_(scale)
    return scale


def release_updates(gen: TANetGenerator, dapp: AppearanceD, dmot: MotionD, opts: dict, frames: torch.Tensor,
                    masks: torch.Tensor, target: torch.Tensor) -> dict:
    """The release's three updates (train.py, fakes detached) as closures keyed 'appearance',
    'motion', 'generator'. frames (B, 4, 3, H, W) in [0, 1] are t-1..t+2, masks (B, 4, H, W),
    target (B, 3, H, W); `opts` holds one optimiser per network under the same keys."""
    f, bce = frames, F.binary_cross_entropy
    clip3 = f[:, 0:3].permute(0, 2, 1, 3, 4)  # B,3,T,H,W
    motion_frames = f[:, 1:4].permute(0, 2, 1, 3, 4)
    real_mot_masks = masks[:, 1:4, None].repeat(1, 1, 3, 1, 1).permute(0, 2, 1, 3, 4)

    def motion_maps():
        return [gen(f[:, 1 + j], target, f[:, j: j + 2].permute(0, 2, 1, 3, 4)) for j in range(3)]

    def fake_mot(maps):
        return torch.stack(maps, 1)[:, :, None].repeat(1, 1, 3, 1, 1).permute(0, 2, 1, 3, 4)

    def discriminator_step(key, d, inputs, real_maps, fake_maps):
        opts[key].zero_grad()
        real = torch.sigmoid(d(inputs, real_maps))
        fk = torch.sigmoid(d(inputs, fake_maps))
        (bce(real, torch.ones_like(real)) + bce(fk, torch.zeros_like(fk))).backward()
        opts[key].step()

    def appearance():
        fake = gen(f[:, 1], target, clip3).detach()
        discriminator_step("appearance", dapp, f[:, 1], masks[:, 1:2], fake[:, None])

    def motion():
        with torch.no_grad():
            maps = motion_maps()
        discriminator_step("motion", dmot, motion_frames, real_mot_masks, fake_mot(maps))

    def generator():
        opts["generator"].zero_grad()
        out = gen(f[:, 1], target, clip3)
        maps = motion_maps()
        a = torch.sigmoid(dapp(f[:, 1], out[:, None]))
        m = torch.sigmoid(dmot(motion_frames, fake_mot(maps)))
        loss = bce(out, masks[:, 1]) + 0.1 * bce(a, torch.ones_like(a)) + 0.2 * bce(m, torch.ones_like(m))
        loss.backward()
        opts["generator"].step()

    return {"appearance": appearance, "motion": motion, "generator": generator}


def channels_last_(module: Any) -> Any:
    """Put a PyTorch module's 2-D convolutions in channels-last, in place (the GPU-tuned reference);
    `module.to(memory_format=...)` would also hit the C3D's 5-D kernels, which that format refuses."""
    import torch

    for m in module.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.to(memory_format=torch.channels_last)
    return module
