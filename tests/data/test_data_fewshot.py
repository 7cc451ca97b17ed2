"""Few-shot data: Omniglot npz, Lake's one-shot runs (zip of 1-bit PNGs written here with our own
encoder), the PNG decoder's five filters, mini-ImageNet split CSVs, and the episode samplers."""
import struct
import zipfile
import zlib

import numpy as np
import pytest
import torch

from ahtga.data import (ArrayDataset, EpisodeSampler, MetaDatasetSampler, decode_png, load_omniglot_npz,
                        load_one_shot_runs)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def encode_png(a: np.ndarray, depth: int = 8, color: int = 0, filters=(0,)) -> bytes:
    """Minimal PNG writer: rows filtered with the given filter types in turn (spec section 9)."""
    h, w = a.shape[:2]
    ch = {0: 1, 2: 3, 6: 4}[color]
    if depth < 8:
        bits = np.zeros((h, w, depth), np.uint8)
        for b in range(depth):
            bits[:, :, b] = (a >> (depth - 1 - b)) & 1
        rows = np.packbits(bits.reshape(h, -1), axis=1)
    else:
        rows = a.reshape(h, -1).astype(np.uint8)
    bpp = max(1, depth * ch // 8)
    out, prev = bytearray(), np.zeros(rows.shape[1], np.int32)
    for r in range(h):
        f = filters[r % len(filters)]
        cur = rows[r].astype(np.int32)
        left = np.concatenate([np.zeros(bpp, np.int32), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])
        if f == 0:
            pred = np.zeros_like(cur)
        elif f == 1:
            pred = left
        elif f == 2:
            pred = prev
        elif f == 3:
            pred = (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        out.append(f)
        out += ((cur - pred) & 0xFF).astype(np.uint8).tobytes()
        prev = cur
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(bytes(out))) + _chunk(b"IEND", b"")


@pytest.mark.parametrize("depth,color,shape", [(1, 0, (9, 13)), (4, 0, (5, 7)), (8, 0, (6, 5)), (8, 2, (4, 6, 3)),
                                               (8, 6, (3, 5, 4))])
def test_png_decoder_all_filters(depth, color, shape):
    rng = np.random.default_rng(depth * 10 + color)
    a = rng.integers(0, 2 ** depth, shape).astype(np.uint8)
    png = encode_png(a, depth, color, filters=(0, 1, 2, 3, 4))
    assert np.array_equal(decode_png(png), a)
    with pytest.raises(ValueError, match="signature"):
        decode_png(b"GIF89a" + png[6:])


def test_omniglot_npz(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((3, 20, 105, 105)) > 0.2           # True = paper, as in the real files
    labels = np.repeat(np.array([5, 6, 7])[:, None], 20, axis=1)
    np.savez(tmp_path / "images_evaluation.npz", images=images, labels=labels)
    with pytest.raises(Exception, match="checksum mismatch"):        # official name, other bytes
        load_omniglot_npz(tmp_path / "images_evaluation.npz")
    full = load_omniglot_npz(tmp_path / "images_evaluation.npz", size=None, verify=False)
    assert full.x.shape == (60, 1, 105, 105) and full.y.tolist() == [5] * 20 + [6] * 20 + [7] * 20
    assert torch.equal(full.x[21, 0], torch.from_numpy(images[1, 1]).float())
    small = load_omniglot_npz(tmp_path / "images_evaluation.npz", size=(21, 21), invert=True, verify=False)
    # area resize by 5: each output pixel is the mean of a 5x5 block of the inverted image
    blk = 1.0 - images[0, 0, 5:10, 10:15].astype(np.float32)
    assert float(small.x[0, 0, 1, 2]) == pytest.approx(blk.mean(), abs=1e-6)
    np.savez(tmp_path / "bad.npz", images=images, labels=labels[:, :3])
    with pytest.raises(ValueError, match="`labels`"):
        load_omniglot_npz(tmp_path / "bad.npz", verify=False)


def test_one_shot_runs_zip(tmp_path):
    rng = np.random.default_rng(1)
    ways = 3
    train = [(rng.random((105, 105)) > 0.1).astype(np.uint8) for _ in range(ways)]
    test = [(rng.random((105, 105)) > 0.1).astype(np.uint8) for _ in range(ways)]
    truth = [2, 0, 1]
    with zipfile.ZipFile(tmp_path / "one_shot_all_runs.zip", "w") as z:
        for r in ("run01", "run02"):
            lines = []
            for i in range(ways):
                z.writestr(f"{r}/training/class{i + 1:02d}.png", encode_png(train[i], 1, 0, filters=(0, 2)))
                z.writestr(f"{r}/test/item{i + 1:02d}.png", encode_png(test[i], 1, 0))
                lines.append(f"{r}/test/item{i + 1:02d}.png {r}/training/class{truth[i] + 1:02d}.png")
            z.writestr(f"{r}/class_labels.txt", "\n".join(lines) + "\n")
    runs = load_one_shot_runs(tmp_path, verify=False)
    assert [r.name for r in runs] == ["run01", "run02"]
    r = runs[0]
    assert r.support.shape == (3, 1, 105, 105) and r.query_y.tolist() == truth
    assert torch.equal(r.support[1, 0], torch.from_numpy(train[1]).float())
    assert torch.equal(r.query[2, 0], torch.from_numpy(test[2]).float())
    with pytest.raises(Exception, match="checksum mismatch"):
        load_one_shot_runs(tmp_path)                           # official name, other bytes
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_one_shot_runs(tmp_path / "nothing.zip")


def test_miniimagenet_csv(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    from ahtga.data import MiniImageNet
    (tmp_path / "images").mkdir()
    rows = ["filename,label"]
    for j, wnid in enumerate(["n02", "n01"]):
        for i in range(2):
            name = f"{wnid}{i:08d}.jpg"
            Image.fromarray(np.full((10, 12, 3), 40 * (j + 1), np.uint8)).save(tmp_path / "images" / name)
            rows.append(f"{name},{wnid}")
    (tmp_path / "val.csv").write_text("\n".join(rows) + "\n")
    ds = MiniImageNet(tmp_path, "val", size=(8, 8))
    assert ds.classes == ["n01", "n02"] and ds.targets.tolist() == [1, 1, 0, 0]
    x, y = ds[0]
    assert x.shape == (3, 8, 8) and y == 1 and abs(float(x.mean()) - 40 / 255) < 0.02
    (tmp_path / "test.csv").write_text("file,label\n")
    with pytest.raises(ValueError, match="header `filename,label`"):
        MiniImageNet(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="no data file found under `data_dir`"):
        MiniImageNet(tmp_path, "train")


def toy_source(classes=12, per_class=None, seed=0):
    per_class = per_class or [6 + (c % 5) * 3 for c in range(classes)]
    y = torch.cat([torch.full((n,), c) for c, n in enumerate(per_class)])
    x = torch.stack([y.float(), torch.arange(len(y)).float()], 1)           # x = (class, index)
    return ArrayDataset(x, y)


def test_episode_sampler_fixed():
    src = toy_source()
    s = EpisodeSampler(src, ways=5, shots=2, queries=3, episodes=4, seed=7)
    eps = list(s)
    assert len(eps) == 4
    for e in eps:
        assert e.support_x.shape == (10, 2) and e.query_x.shape == (15, 2)
        assert e.support_y.tolist() == [j for j in range(5) for _ in range(2)]
        for x, yy in ((e.support_x, e.support_y), (e.query_x, e.query_y)):       # labels match classes
            cls = x[:, 0].long()
            assert torch.equal(cls, torch.tensor(e.classes)[yy])
        idx = torch.cat([e.support_x, e.query_x])[:, 1]                         # no example used twice
        assert len(torch.unique(idx)) == 25
    again = list(EpisodeSampler(src, ways=5, shots=2, queries=3, episodes=4, seed=7))
    assert all(torch.equal(a.support_x, b.support_x) for a, b in zip(eps, again))
    with pytest.raises(ValueError, match="`ways`"):
        EpisodeSampler(src, ways=13)


def test_meta_dataset_sampler_constraints():
    src = toy_source(classes=30, per_class=[4 + 3 * (c % 7) for c in range(30)])
    sizes = torch.bincount(src.y)
    s = MetaDatasetSampler(src, min_ways=5, max_ways=20, max_support=60, episodes=40, seed=3)
    ways_seen, shots_seen = set(), set()
    for e in s:
        ways_seen.add(e.ways)
        assert 5 <= e.ways <= 20
        q = torch.bincount(e.query_y, minlength=e.ways)
        k = torch.bincount(e.support_y, minlength=e.ways)
        n_c = sizes[torch.tensor(e.classes)]
        assert (q == q[0]).all() and 1 <= int(q[0]) <= min(10, int((n_c // 2).min()))
        assert (k >= 1).all() and (k + q <= n_c).all()
        assert int(k.sum()) <= max(60, e.ways)
        shots_seen.update(k.tolist())
        cls = torch.cat([e.support_x, e.query_x])[:, 0].long()
        assert torch.equal(cls, torch.tensor(e.classes)[torch.cat([e.support_y, e.query_y])])
    assert len(ways_seen) > 5 and len(shots_seen) > 3        # ways and shots really vary
    a = next(iter(MetaDatasetSampler(src, seed=3, max_ways=20)))
    b = next(iter(MetaDatasetSampler(src, seed=3, max_ways=20)))
    assert torch.equal(a.support_x, b.support_x) and a.classes == b.classes


def test_meta_dataset_sampler_on_omniglot_layout(tmp_path):
    images = np.ones((8, 20, 105, 105), bool)
    labels = np.repeat(np.arange(8)[:, None], 20, axis=1)
    np.savez(tmp_path / "o.npz", images=images, labels=labels)
    ds = load_omniglot_npz(tmp_path / "o.npz")
    e = next(iter(MetaDatasetSampler(ds, min_ways=5, max_ways=8, seed=0)))
    assert e.support_x.shape[1:] == (1, 28, 28) and int(torch.bincount(e.query_y)[0]) == 10
