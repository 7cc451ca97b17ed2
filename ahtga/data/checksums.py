"""Known checksums of the official data files, and their verification.

``KNOWN_FILES`` maps a file name (as distributed) to its known digests:

* ``md5``: MD5 of the file exactly as the official host serves it;
* ``content_md5``: MD5 of the decompressed bytes of a ``.gz`` file (the gzip header holds a
  time stamp and a file name, so a re-compressed copy has another ``md5`` but the same
  content); the same digest also verifies the uncompressed file (``name`` without ``.gz``).

Sources (all read, not recomputed, except where marked):

* MNIST ``.gz`` MD5s: as listed by torchvision's ``MNIST.resources`` for the official files;
  uncompressed MD5s: ``/work/shared/data/mnist/MD5SUMS.uncompressed`` of this project's offline copy,
  stated there to equal the published ones (checked here: the offline gz files decompress to them).
* Fashion-MNIST ``.gz`` MD5s: the table in zalandoresearch/fashion-mnist's README; uncompressed
  MD5s: as published in several loaders' "raw" file lists (torchvision-style); Debian's package
  ``dataset-fashion-mnist`` re-compresses the files (other ``.gz`` MD5s) and decompresses to them
  (checked here on its files in ``/usr/share/datasets/fashion-mnist``).
* CIFAR-10/100 archive and per-batch MD5s: Krizhevsky's page (archive) and torchvision's
  ``CIFAR10``/``CIFAR100`` lists (batches; confirmed in two independent copies).
* Penn Treebank (Mikolov's ``ptb.*.txt``): torchtext's ``PennTreebank`` MD5s; the offline copy
  here matches them (checked).
* WikiText-2 ``wikitext-2-v1.zip``: torchtext's ``WikiText2`` MD5 (recalled, not re-checked).
* tiny-shakespeare ``input.txt``: karpathy/char-rnn file (checked on the offline copy).
* Omniglot ``images_{background,evaluation}.npz`` and ``one_shot_all_runs.zip``: SHA256 of the
  npz conversion this project's offline copy uses (not an official distribution; checked).

GLUE, ImageNet and mini-ImageNet have no single official file with a published digest here: their
files are read unverified, and ``meta["checksums"]`` records their SHA256 for the result files.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path


class ChecksumError(ValueError):
    """A data file's digest differs from the known digest of the official file."""


KNOWN_FILES: dict[str, dict[str, str]] = {
    # MNIST
    "train-images-idx3-ubyte.gz": {"md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                   "content_md5": "6bbc9ace898e44ae57da46a324031adb"},
    "train-labels-idx1-ubyte.gz": {"md5": "d53e105ee54ea40749a09fcbcd1e9432",
                                   "content_md5": "a25bea736e30d166cdddb491f175f624"},
    "t10k-images-idx3-ubyte.gz": {"md5": "9fb629c4189551a2d022fa330f9573f3",
                                  "content_md5": "2646ac647ad5339dbf082846283269ea"},
    "t10k-labels-idx1-ubyte.gz": {"md5": "ec29112dd5afa0611ce80d1b7f02629c",
                                  "content_md5": "27ae3e4e09519cfbb04c329615203637"},
    # Fashion-MNIST (same file names as MNIST: kept under a "fashion/" key prefix)
    "fashion/train-images-idx3-ubyte.gz": {"md5": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                                           "content_md5": "f4a8712d7a061bf5bd6d2ca38dc4d50a"},
    "fashion/train-labels-idx1-ubyte.gz": {"md5": "25c81989df183df01b3e8a0aad5dffbe",
                                           "content_md5": "9018921c3c673c538a1fc5bad174d6f9"},
    "fashion/t10k-images-idx3-ubyte.gz": {"md5": "bef4ecab320f06d8554ea6380940ec79",
                                          "content_md5": "8181f5470baa50b63fa0f6fddb340f0a"},
    "fashion/t10k-labels-idx1-ubyte.gz": {"md5": "bb300cfdad3c16e7a12a480ee83cd310",
                                          "content_md5": "15d484375f8d13e6eb1aabb0c3f46965"},
    # CIFAR-10 (python version)
    "cifar-10-python.tar.gz": {"md5": "c58f30108f718f92721af3b95e74349a"},
    "cifar-10-batches-py/data_batch_1": {"md5": "c99cafc152244af753f735de768cd75f"},
    "cifar-10-batches-py/data_batch_2": {"md5": "d4bba439e000b95fd0a9bffe97cbabec"},
    "cifar-10-batches-py/data_batch_3": {"md5": "54ebc095f3ab1f0389bbae665268c751"},
    "cifar-10-batches-py/data_batch_4": {"md5": "634d18415352ddfa80567beed471001a"},
    "cifar-10-batches-py/data_batch_5": {"md5": "482c414d41f54cd18b22e5b47cb7c3cb"},
    "cifar-10-batches-py/test_batch": {"md5": "40351d587109b95175f43aff81a1287e"},
    "cifar-10-batches-py/batches.meta": {"md5": "5ff9c542aee3614f3951f8cda6e48888"},
    # CIFAR-100 (python version)
    "cifar-100-python.tar.gz": {"md5": "eb9058c3a382ffc7106e4002c42a8d85"},
    "cifar-100-python/train": {"md5": "16019d7e3df5f24257cddd939b257f8d"},
    "cifar-100-python/test": {"md5": "f0ef6b0ae62326f3e7ffdfab6717acfc"},
    "cifar-100-python/meta": {"md5": "7973b15100ade9c7d40fb424638fde48"},
    # CIFAR-10 lossless subset (karpathy/convnetjs first 4000, as npz; this project's copy)
    "cifar10_convnetjs_first4000_lossless.npz": {
        "sha256": "5a3a42d44290a419b420982b8bebee85690907a7a4ec2535b9ce037d0c54d8cb"},
    # Penn Treebank, Mikolov's preprocessing
    "ptb.train.txt": {"md5": "f26c4b92c5fdc7b3f8c7cdcb991d8420"},
    "ptb.valid.txt": {"md5": "aa0affc06ff7c36e977d7cd49e3839bf"},
    "ptb.test.txt": {"md5": "8b80168b89c18661a38ef683c0dc3721"},
    # WikiText-2 (archive)
    "wikitext-2-v1.zip": {"md5": "542ccefacc6c27f945fb54453812b3cd"},
    # tiny-shakespeare
    "tinyshakespeare/input.txt": {"md5": "6fb458f1232090904fb40fe944165e91"},
    # Omniglot (npz conversion) and Lake et al.'s one-shot runs
    "images_background.npz": {"sha256": "8bf84167413cd00beacdce3fe582f780ab538d8dbef043a6d688f2527bbce199"},
    "images_evaluation.npz": {"sha256": "0b84c7ffd94c4841c0040e529c86a82eaaccb986d8eadad5673f7991b7475276"},
    "one_shot_all_runs.zip": {"sha256": "437c1eeab0af8484112e1b4cc0f3d541ec727f7c47b9b202da738af9dfd6c325"},
}

_ALGOS = ("md5", "sha256")


def file_digest(path: str | os.PathLike, algo: str = "sha256", *, decompress: bool = False) -> str:
    """Hex digest of a file (of its gunzipped bytes when ``decompress``), read in 1 MiB blocks."""
    if algo not in _ALGOS:
        raise ValueError(f"`algo` must be one of {list(_ALGOS)}; got algo={algo!r}")
    h = hashlib.new(algo)
    opener = gzip.open if decompress else open
    with opener(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path: str | os.PathLike, *, key: str | None = None,
                expected: dict[str, str] | None = None) -> dict[str, str]:
    """Check ``path`` against its known digests; return the digests that were verified.

    ``expected`` (``{"md5": ...}``, ``{"sha256": ...}``, optionally ``content_md5``) defaults to
    ``KNOWN_FILES[key]`` with ``key`` defaulting to the file name. A ``.gz`` file passes if its
    own MD5 matches ``md5`` or its decompressed bytes match ``content_md5``; an uncompressed file
    named like a registered ``.gz`` (``x`` for ``x.gz``) is checked against ``content_md5``.
    A file with no known digest returns ``{}`` (nothing verified). A mismatch raises
    :class:`ChecksumError` naming the file, the expected and the actual digest.
    """
    p = Path(path)
    key = p.name if key is None else key
    if expected is None:
        expected = KNOWN_FILES.get(key)
        if expected is None and key + ".gz" in KNOWN_FILES and "content_md5" in KNOWN_FILES[key + ".gz"]:
            expected = {"md5": KNOWN_FILES[key + ".gz"]["content_md5"]}
    if not expected:
        return {}
    for algo in ("sha256", "md5"):
        if algo in expected:
            got = file_digest(p, algo)
            if got == expected[algo]:
                return {algo: got}
            if algo == "md5" and "content_md5" in expected and p.suffix == ".gz":
                got_c = file_digest(p, "md5", decompress=True)
                if got_c == expected["content_md5"]:
                    return {"content_md5": got_c}
                raise ChecksumError(
                    f"checksum mismatch for {str(p)!r}: expected md5 {expected[algo]} (or "
                    f"decompressed md5 {expected['content_md5']}), got {got} (decompressed "
                    f"{got_c}); the file is corrupt or not the official one: delete it and "
                    f"download again, or pass verify=False to skip the check")
            raise ChecksumError(
                f"checksum mismatch for {str(p)!r}: expected {algo} {expected[algo]}, got {got}; "
                f"the file is corrupt or not the official one: delete it and download again, "
                f"or pass verify=False to skip the check")
    if "content_md5" in expected:
        got_c = file_digest(p, "md5", decompress=p.suffix == ".gz")
        if got_c != expected["content_md5"]:
            raise ChecksumError(f"checksum mismatch for {str(p)!r}: expected content md5 "
                                f"{expected['content_md5']}, got {got_c}")
        return {"content_md5": got_c}
    return {}


def verify_and_record(path: str | os.PathLike, *, key: str | None = None, verify: bool = True) -> dict[str, str]:
    """What a loader stores in ``meta["checksums"][file]``: the verified digests, or the file's
    SHA256 when no official digest is known (or ``verify`` is off), so result files can name the
    exact data that was read."""
    out = verify_file(path, key=key) if verify else {}
    if not out:
        out = {"sha256": file_digest(path, "sha256")}
    else:
        out["verified"] = "yes"
    return out
