"""Downloads: a clean error without a network, and checksum-verified fetching (file:// URLs)."""
import hashlib
import importlib
import urllib.error

import pytest

from ahtga.data import ChecksumError, DownloadError, download, download_file
download_module = importlib.import_module("ahtga.data.download")   # the module, not the function


def test_download_without_network_says_data_dir(tmp_path, monkeypatch):
    def no_network(*a, **k):
        raise urllib.error.URLError("no route to host")
    monkeypatch.setattr(download_module.urllib.request, "urlopen", no_network)
    with pytest.raises(DownloadError, match="--data-dir"):
        download("mnist", tmp_path)
    assert not any(tmp_path.rglob("*.tmp"))
    with pytest.raises(ValueError, match="`name` must be one of"):
        download("glue", tmp_path)


def test_download_file_verifies(tmp_path):
    src = tmp_path / "src.txt"
    src.write_bytes(b"payload")
    md5 = hashlib.md5(b"payload").hexdigest()
    out = download_file(src.as_uri(), tmp_path / "out" / "a.txt", expected={"md5": md5})
    assert out.read_bytes() == b"payload"
    with pytest.raises(ChecksumError):
        download_file(src.as_uri(), tmp_path / "out" / "b.txt", expected={"md5": "0" * 32})
    assert not (tmp_path / "out" / "b.txt").exists() and not (tmp_path / "out" / "b.txt.tmp").exists()
    with pytest.raises(DownloadError, match="could not download"):
        download_file((tmp_path / "missing").as_uri(), tmp_path / "c.txt")
