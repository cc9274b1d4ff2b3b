#!/usr/bin/env python3
"""The library a researcher would reach for instead: scikit-learn's MiniBatchDictionaryLearning on
the same data, for the benchmark's --vs-sklearn. One epoch over the training split, with the
settings closest to a linear dictionary with non-negative codes:

    python3 experiments/sklearn_reference.py --mnist DIR [--atoms 128] [--batch 250] [--lam 0.02] [--epochs 1] --json

- the images are normalised as ours are (global mean and standard deviation of MNIST's pixels);
- the training split is the authors' (DIR/validation-indices.txt holds the 5,000 validation rows),
  so both sides see the same 55,000 images;
- codes are positive lasso solutions by coordinate descent (fit_algorithm="cd",
  positive_code=True), the analogue of our ℓ1-regularised, non-negative inference. Our energy
  weighs the reconstruction by 1/d and scikit-learn's by 1/2, so λ becomes alpha = λ·d/2;
- there is no encoder and no variance term: it is the classical sparse-coding baseline.

Prints one JSON line: training seconds, samples per second, and the validation PSNR and zero
fraction of its codes (the transform's own positive lasso), for scale. Needs Debian's
python3-sklearn (apt-get install -y python3-sklearn).
"""
import argparse, gzip, json, os, struct, sys, time

import numpy as np
from sklearn.decomposition import MiniBatchDictionaryLearning

MEAN, STD = 0.1307, 0.3081  # the normalisation our MNIST pipeline applies


def read_images(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n, h, w = struct.unpack(">IIII", raw[:16])
    if magic != 2051:
        sys.exit(f"{path}: not an IDX image file (magic {magic})")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h * w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist", required=True)
    ap.add_argument("--atoms", type=int, default=128)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--lam", type=float, default=0.02, help="our λ (VDL's on MNIST); alpha = λ·d/2")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    images = read_images(os.path.join(a.mnist, "train-images-idx3-ubyte.gz"))
    split = os.path.join(a.mnist, "validation-indices.txt")
    if not os.path.exists(split):
        sys.exit(f"{split} is missing: the comparison trains on the authors' 55,000 training images")
    val_rows = np.array([int(t) for t in open(split).read().split()], dtype=np.int64)
    is_val = np.zeros(len(images), dtype=bool)
    is_val[val_rows] = True
    x = ((images.astype(np.float32) / 255.0) - MEAN) / STD
    train, val = x[~is_val], x[is_val]
    d = train.shape[1]
    model = MiniBatchDictionaryLearning(
        n_components=a.atoms, alpha=a.lam * d / 2, batch_size=a.batch, fit_algorithm="cd",
        positive_code=True, transform_algorithm="lasso_cd", transform_alpha=a.lam * d / 2,
        max_iter=a.epochs, shuffle=True, random_state=a.seed,
        # Its early stopping would end the pass after a few dozen batches; a full epoch is compared.
        max_no_improvement=None, tol=0.0
    )
    started = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - started
    codes = model.transform(val[:1000])
    recon = codes @ model.components_
    # PSNR in pixel space, per image, with MSE floored at 1e-4 (40 dB), as ours is reported.
    err = np.mean(((recon - val[:1000]) * STD) ** 2, axis=1)
    psnr = float(np.mean(10 * np.log10(1.0 / np.maximum(err, 1e-4))))
    out = {
        "library": "scikit-learn MiniBatchDictionaryLearning",
        "atoms": a.atoms, "batch": a.batch, "alpha": a.lam * d / 2, "epochs": a.epochs,
        "train_rows": int(len(train)), "batches_run": int(model.n_steps_), "seconds": round(seconds, 3),
        "samples_per_second": round(int(model.n_steps_) * a.batch / seconds, 1),
        "val_psnr": round(psnr, 3), "val_zero_fraction": round(float(np.mean(codes == 0)), 4),
    }
    print(json.dumps(out) if a.json else out)


if __name__ == "__main__":
    main()
