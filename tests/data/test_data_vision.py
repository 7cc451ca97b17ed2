"""Image loaders on small files in their real formats, written here: IDX (gz and plain), CIFAR
python pickles, npz, class folders; checksum and path errors."""
import gzip
import hashlib
import pickle
import struct

import numpy as np
import pytest
import torch

from ahtga.data import (ChecksumError, KNOWN_FILES, load_cifar10, load_cifar100, load_cifar10_npz,
                        load_dataset, load_digits, load_fashion_mnist, load_mnist, read_idx, verify_file)
from ahtga.data.checksums import file_digest


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    dt = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[code]
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return head + arr.astype(dt).tobytes()


def write_mnist(folder, n=7, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labs = rng.integers(0, 10, n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    for stem in ("train", "t10k"):
        for kind, arr in (("images-idx3-ubyte", imgs), ("labels-idx1-ubyte", labs)):
            data = idx_bytes(arr)
            name = f"{stem}-{kind}"
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
    return imgs, labs


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_roundtrip(tmp_path, gz):
    imgs, labs = write_mnist(tmp_path / "mnist", gz=gz)
    ds = load_mnist(tmp_path, "train", verify=False)      # finds the mnist/ sub-folder
    assert ds.x.shape == (7, 1, 28, 28) and ds.x.dtype == torch.float32
    assert torch.equal(ds.x[:, 0], torch.from_numpy(imgs).float() / 255)
    assert torch.equal(ds.y, torch.from_numpy(labs).long()) and ds.y.dtype == torch.int64
    assert len(ds.meta["checksums"]) == 2 and all("sha256" in v for v in ds.meta["checksums"].values())
    ds2 = load_fashion_mnist(tmp_path / "mnist", "test", verify=False)
    assert ds2.classes[9] == "Ankle boot" and torch.equal(ds2.y, ds.y)
    # Fashion-MNIST has known digests for the gz files and for their decompressed content (which
    # also checks a re-compressed copy such as Debian's): these synthetic files fail both
    with pytest.raises(ChecksumError, match=r"t10k-images-idx3-ubyte.*8181f5470baa50b63fa0f6fddb340f0a"):
        load_fashion_mnist(tmp_path / "mnist", "test", verify=True)


def test_read_idx_other_dtypes_and_bad_header(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    (tmp_path / "f.idx").write_bytes(idx_bytes(a, 0x0D))
    assert np.array_equal(read_idx(tmp_path / "f.idx"), a)
    b = np.array([[-3, 500]], dtype=np.int16)
    (tmp_path / "s.idx").write_bytes(idx_bytes(b, 0x0B))
    assert np.array_equal(read_idx(tmp_path / "s.idx"), b)
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(idx_bytes(np.zeros((2, 2), np.uint8))[:-1])
    with pytest.raises(ValueError, match="header says shape"):
        read_idx(tmp_path / "short.idx")


def test_mnist_checksum_mismatch_for_official_name(tmp_path):
    # The files have the official names, so their content is checked against the official MD5s.
    write_mnist(tmp_path, gz=True)
    with pytest.raises(ChecksumError, match="checksum mismatch.*train-images-idx3-ubyte.gz"):
        load_mnist(tmp_path, "train")
    write_mnist(tmp_path / "plain", gz=False)
    with pytest.raises(ChecksumError, match="expected md5 6bbc9ace"):
        load_mnist(tmp_path / "plain", "train")
    assert len(load_mnist(tmp_path, "train", verify=False)) == 7


def test_verify_file_accepts_matching_and_content_digest(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"hello")
    md5 = hashlib.md5(b"hello").hexdigest()
    assert verify_file(p, expected={"md5": md5}) == {"md5": md5}
    g = tmp_path / "x.bin.gz"
    g.write_bytes(gzip.compress(b"hello"))
    assert verify_file(g, expected={"md5": "0" * 32, "content_md5": md5}) == {"content_md5": md5}
    with pytest.raises(ChecksumError, match="expected sha256"):
        verify_file(p, expected={"sha256": "ab" * 32})
    assert verify_file(p) == {}          # unknown name: nothing verified
    assert file_digest(p, "sha256") == hashlib.sha256(b"hello").hexdigest()
    with pytest.raises(ValueError, match="`algo`"):
        file_digest(p, "sha1")


@pytest.mark.parametrize("loader", [load_mnist, load_cifar10, load_cifar100])
def test_bad_path_names_argument(tmp_path, loader):
    with pytest.raises(FileNotFoundError, match="`data_dir`.*does not exist"):
        loader(tmp_path / "nope")
    with pytest.raises(ValueError, match="`data_dir` is required"):
        loader(None)
    with pytest.raises(FileNotFoundError, match="no data file found under `data_dir`"):
        loader(tmp_path)
    with pytest.raises(ValueError, match="`split`"):
        loader(tmp_path, "validation")


def cifar_batch(n, rng, key="labels", classes=10):
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    d = {b"data": data, b"batch_label": b"x", b"filenames": [b"f"] * n}
    if key == "labels":
        d[b"labels"] = rng.integers(0, classes, n).tolist()
    else:
        d[b"fine_labels"] = rng.integers(0, 100, n).tolist()
        d[b"coarse_labels"] = rng.integers(0, 20, n).tolist()
    return d


def test_cifar10_pickle_layout(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    batches = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        b = cifar_batch(3, rng)
        batches.append(b)
        (root / name).write_bytes(pickle.dumps(b, protocol=2))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))
    tr = load_cifar10(tmp_path, "train", verify=False)
    te = load_cifar10(root, "test", verify=False)        # the batches folder itself also works
    assert tr.x.shape == (15, 3, 32, 32) and te.x.shape == (3, 3, 32, 32)
    # channel planes: red plane first, row-major
    first = batches[0][b"data"][0]
    assert torch.equal(tr.x[0, 0], torch.from_numpy(first[:1024].reshape(32, 32)).float() / 255)
    assert torch.equal(tr.x[0, 2, 5, 7], torch.tensor(first[2048 + 5 * 32 + 7] / 255, dtype=torch.float32))
    assert tr.y.tolist() == sum((b[b"labels"] for b in batches[:5]), [])
    assert tr.classes[1] == "automobile"
    with pytest.raises(ChecksumError, match="data_batch_1"):
        load_cifar10(tmp_path, "train")


def test_cifar_pickle_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    (root / "test_batch").write_bytes(pickle.dumps({b"data": Evil(), b"labels": [0]}))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global builtins.print"):
        load_cifar10(tmp_path, "test", verify=False)


def test_cifar100_fine_and_coarse(tmp_path):
    rng = np.random.default_rng(2)
    root = tmp_path / "cifar-100-python"
    root.mkdir()
    b = cifar_batch(4, rng, key="fine")
    (root / "test").write_bytes(pickle.dumps(b, protocol=4))
    meta = {b"fine_label_names": [f"f{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"c{i}".encode() for i in range(20)]}
    (root / "meta").write_bytes(pickle.dumps(meta))
    fine = load_cifar100(tmp_path, "test", verify=False)
    coarse = load_cifar100(tmp_path, "test", label="coarse", verify=False)
    assert fine.y.tolist() == b[b"fine_labels"] and coarse.y.tolist() == b[b"coarse_labels"]
    assert len(fine.classes) == 100 and coarse.classes[3] == "c3"
    assert torch.equal(fine.meta["coarse"], coarse.y)


def test_cifar10_npz(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    y = np.array([0, 9, 3, 3, 1], dtype=np.uint8)
    np.savez(tmp_path / "c.npz", x=x, y=y)
    ds = load_cifar10_npz(tmp_path / "c.npz")
    assert ds.x.shape == (5, 3, 32, 32)
    assert torch.equal(ds.x[2, 1], torch.from_numpy(x[2, :, :, 1]).float() / 255)
    assert ds.y.tolist() == y.tolist()
    np.savez(tmp_path / "cifar10_convnetjs_first4000_lossless.npz", x=x, y=y)  # official name, wrong bytes
    with pytest.raises(ChecksumError):
        load_cifar10_npz(tmp_path)
    np.savez(tmp_path / "bad.npz", images=x)
    with pytest.raises(ValueError, match="must hold arrays `x` and `y`"):
        load_cifar10_npz(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_cifar10_npz(tmp_path / "missing.npz")


def test_registry_checksums_are_well_formed():
    for name, d in KNOWN_FILES.items():
        for algo, h in d.items():
            assert len(h) == {"md5": 32, "content_md5": 32, "sha256": 64}[algo], name
            int(h, 16)


def test_digits_default_split():
    tr, te = load_digits("train"), load_digits("test")
    assert len(tr) + len(te) == 1797 and tr.x.shape[1:] == (1, 8, 8)
    assert 0.0 <= float(tr.x.min()) and float(tr.x.max()) <= 1.0
    # stratified: each class's test share is its rounded quarter
    for c in range(10):
        n_c = int((tr.y == c).sum() + (te.y == c).sum())
        assert int((te.y == c).sum()) == round(0.25 * n_c)
    assert torch.equal(load_digits("test").x, te.x)                      # deterministic
    assert not torch.equal(load_digits("test", seed=1).x, te.x)          # the seed matters
    with pytest.raises(ValueError, match="`name` must be one of"):
        load_dataset("imagenet21k")
    assert len(load_dataset("digits", "all")) == 1797


def test_class_folders_with_pillow(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    from ahtga.data import ImageFolder, load_cifar10_folders
    rng = np.random.default_rng(4)
    arrays = {}
    for split in ("train", "test"):
        for cls in ("cat", "airplane"):
            d = tmp_path / split / cls
            d.mkdir(parents=True)
            for i in range(2):
                a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(a).save(d / f"{i:04d}.png")      # lossless, so pixels can be compared
                arrays[(split, cls, i)] = a
    ds = load_cifar10_folders(tmp_path, "train")
    assert ds.classes == ["airplane", "cat"] and ds.y.tolist() == [0, 0, 1, 1]
    assert torch.equal(ds.x[2], torch.from_numpy(arrays[("train", "cat", 0)]).permute(2, 0, 1).float() / 255)
    assert "pixels differ" in ds.meta["note"]
    lazy = ImageFolder(tmp_path / "test", size=(16, 16))
    x, y = lazy[3]
    assert x.shape == (3, 16, 16) and y == 1 and len(lazy) == 4
    with pytest.raises(FileNotFoundError, match="`root`.*no class sub-folders"):
        ImageFolder(tmp_path / "test" / "cat")
