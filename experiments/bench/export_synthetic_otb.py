"""Write held-out synthetic_tracking videos as OTB-layout sequences (img/ + groundtruth_rect.txt),
so `python -m tanet_jax.evaluate --dataset otb` and the OpenCV baselines run on them.
Boxes of absent frames are written as the target's true geometric box clipped into the image
(OTB has no absence marks); evaluation skips nothing, so absences count as misses for all.

    python experiments/bench/export_synthetic_otb.py --preset small --videos 12 --out /tmp/synthetic_otb
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from tanet_jax.data.synthetic import SYNTHETIC_PRESETS, make_video
from tanet_jax.evaluation.bench import HELD_OUT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small", choices=sorted(SYNTHETIC_PRESETS),
                        help="synthetic_tracking preset (frame size, length; default: small)")
    parser.add_argument("--videos", type=int, default=12, help="how many held-out videos (default: 12)")
    parser.add_argument("--out", required=True, help="folder to write OUT/synthetic_NNN/{img/, groundtruth_rect.txt}")
    args = parser.parse_args()
    spec = SYNTHETIC_PRESETS[args.preset]
    for i in range(args.videos):
        v = make_video(spec, HELD_OUT + i)
        seq = Path(args.out) / f"synthetic_{i:03d}"
        (seq / "img").mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(v["frames"]):
            cv2.imwrite(str(seq / "img" / f"{t + 1:04d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
        b = v["boxes"].astype(float).copy()
        x0, y0 = np.clip(b[:, 0], 0, spec.width - 2), np.clip(b[:, 1], 0, spec.height - 2)
        x1 = np.clip(b[:, 0] + b[:, 2], x0 + 1, spec.width)
        y1 = np.clip(b[:, 1] + b[:, 3], y0 + 1, spec.height)
        boxes = np.stack([x0, y0, x1 - x0, y1 - y0], 1)
        (seq / "groundtruth_rect.txt").write_text("\n".join(",".join(f"{x:g}" for x in r) for r in boxes) + "\n")
        print(seq.name, ",".join(v["events"]))


if __name__ == "__main__":
    main()
