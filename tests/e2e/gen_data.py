"""Writes the small datasets the end-to-end tests train on (stdlib only).

usage: python3 gen_data.py OUTDIR [big]

  blobs_{train,test}-images.idx.gz / -labels.idx.gz  3 classes of 8x8 uint8
      images: each class lights a different band of rows, plus noise
  blobs_{train,test}.csv   4 features, label column "species" (0..2),
      header, a quoted text column "note" the configs leave out
  linear_{train,test}.csv  regression: y = 2 a - 3 b + 0.5 c + 1 + noise
  with "big": only blobs_big-images.idx.gz / -labels, 40,000 images (runs
      that must last a few seconds)
"""
import gzip
import random
import struct
import sys


def idx_write(path, dims, data, magic_type=0x08):
    header = struct.pack(">BBBB", 0, 0, magic_type, len(dims))
    header += b"".join(struct.pack(">I", d) for d in dims)
    with gzip.open(path, "wb") as f:
        f.write(header + bytes(data))


def blob_images(rng, n):
    images, labels = [], []
    for _ in range(n):
        k = rng.randrange(3)
        for r in range(8):
            for c in range(8):
                lit = r // 3 == k if k < 2 else r >= 6
                base = 200 if lit else 30
                images.append(max(0, min(255, int(base + rng.gauss(0, 40)))))
        labels.append(k)
    return images, labels


def blob_rows(rng, n):
    centers = [(0, 0, 1, 2), (3, 1, 0, -1), (-2, 3, 2, 0)]
    rows = []
    for i in range(n):
        k = rng.randrange(3)
        x = [c + rng.gauss(0, 0.8) for c in centers[k]]
        rows.append((x, k, i))
    return rows


def main():
    out = sys.argv[1]
    rng = random.Random(1234)
    if sys.argv[2:] == ["big"]:
        images, labels = blob_images(rng, 40000)
        idx_write(f"{out}/blobs_big-images.idx.gz", (40000, 8, 8), images)
        idx_write(f"{out}/blobs_big-labels.idx.gz", (40000,), labels)
        return
    for split, n in (("train", 600), ("test", 200)):
        images, labels = blob_images(rng, n)
        idx_write(f"{out}/blobs_{split}-images.idx.gz", (n, 8, 8), images)
        idx_write(f"{out}/blobs_{split}-labels.idx.gz", (n,), labels)
        with open(f"{out}/blobs_{split}.csv", "w") as f:
            f.write('f1,f2,"note",f3,f4,species\n')
            for x, k, i in blob_rows(rng, n):
                f.write("%.5f,%.5f,\"row %d, text\",%.5f,%.5f,%d\n" % (x[0], x[1], i, x[2], x[3], k))
        with open(f"{out}/linear_{split}.csv", "w") as f:
            f.write("a,b,c,y\n")
            for _ in range(n):
                a, b, c = (rng.uniform(-1, 1) for _ in range(3))
                y = 2 * a - 3 * b + 0.5 * c + 1 + rng.gauss(0, 0.05)
                f.write("%.5f,%.5f,%.5f,%.5f\n" % (a, b, c, y))


main()
