"""Text loaders on files written here: PTB, WikiText-2 (plain and zipped), char-level text, GLUE TSV."""
import zipfile

import pytest
import torch

from ahtga.data import (BasicTokenizer, ChecksumError, batchify, lm_batch, load_char_text, load_corpus,
                        load_glue, load_ptb, load_tiny_shakespeare, load_wikitext2)

PTB = {"train": " the cat sat <unk> \n the dog \n\n", "valid": " the bird sat \n", "test": " dog cat \n"}


def write_ptb(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for s, t in PTB.items():
        (folder / f"ptb.{s}.txt").write_text(t)


def test_ptb_vocab_and_streams(tmp_path):
    write_ptb(tmp_path / "ptb")
    c = load_ptb(tmp_path, verify=False)
    assert c.vocab.itos == ["<unk>", "<eos>", "the", "cat", "sat", "dog"]
    assert c.vocab.decode(c.train) == ["the", "cat", "sat", "<unk>", "<eos>", "the", "dog", "<eos>"]
    assert c.vocab.decode(c.valid) == ["the", "<unk>", "sat", "<eos>"]     # unseen "bird" -> <unk>
    assert c.train.dtype == torch.int64
    # official names with other bytes: checksum error names the file
    with pytest.raises(ChecksumError, match="ptb.train.txt"):
        load_ptb(tmp_path)
    with pytest.raises(FileNotFoundError, match="`data_dir`"):
        load_corpus("ptb", data_dir=tmp_path / "missing")


def test_wikitext2_zip(tmp_path):
    with zipfile.ZipFile(tmp_path / "wikitext-2-v1.zip", "w") as z:
        z.writestr("wikitext-2/wiki.train.tokens", " = Title = \n\n a b a \n")
        z.writestr("wikitext-2/wiki.valid.tokens", " a c \n")
        z.writestr("wikitext-2/wiki.test.tokens", " b \n")
    with pytest.raises(ChecksumError, match="wikitext-2-v1.zip"):
        load_wikitext2(tmp_path)
    c = load_wikitext2(tmp_path, verify=False)
    assert c.vocab.decode(c.train) == ["=", "Title", "=", "<eos>", "a", "b", "a", "<eos>"]
    assert c.vocab.decode(c.valid) == ["a", "<unk>", "<eos>"]


def test_char_text_splits(tmp_path):
    text = "abcabcabcdxyz" * 10
    (tmp_path / "input.txt").write_text(text)
    c = load_tiny_shakespeare(tmp_path, verify=False, train_fraction=0.8, valid_fraction=0.1)
    assert c.vocab.itos == sorted(set(text))
    assert len(c.train) == 104 and len(c.valid) == 13 and len(c.test) == 13
    assert "".join(c.vocab.decode(torch.cat([c.train, c.valid, c.test]))) == text
    with pytest.raises(ChecksumError):           # named input.txt: checked as tiny-shakespeare
        load_char_text(tmp_path)
    with pytest.raises(ValueError, match="`train_fraction`"):
        load_char_text(tmp_path / "input.txt", train_fraction=1.0)


def test_batchify_and_lm_batch():
    s = torch.arange(23)
    d = batchify(s, 4)
    assert d.shape == (4, 5) and d[1].tolist() == [5, 6, 7, 8, 9]
    x, y = lm_batch(d, 0, 3)
    assert x[0].tolist() == [0, 1, 2] and y[0].tolist() == [1, 2, 3]
    x, y = lm_batch(d, 3, 3)                     # last window is shorter
    assert x.shape == (4, 1) and torch.equal(y, x + 1)
    with pytest.raises(ValueError, match="`batch_size`"):
        batchify(s, 20)
    with pytest.raises(ValueError, match="`i`"):
        lm_batch(d, 4, 3)


SST2 = "sentence\tlabel\nit 's a charming , funny film \t1\nan \"awful\" mess\t0\n"
MRPC = ("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
        "1\t702876\t702977\tAmrozi accused his brother .\tReferring to him as \"the witness\" , Amrozi accused his brother .\n"
        "0\t2108705\t2108831\tYucaipa owned Dominick 's .\tYucaipa bought Dominick 's in 1995 .\n")
RTE = ("index\tsentence1\tsentence2\tlabel\n0\tDana Reeve died .\tChristopher Reeve had an accident .\tnot_entailment\n"
       "1\tA cat sat .\tAn animal sat .\tentailment\n")
RTE_TEST = "index\tsentence1\tsentence2\n0\tA b .\tC d .\n"


def write_glue(root):
    for folder, split, text in (("SST-2", "train", SST2), ("MRPC", "dev", MRPC), ("RTE", "train", RTE),
                                ("RTE", "test", RTE_TEST)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{split}.tsv").write_text(text)


def test_glue_tsv_tasks(tmp_path):
    write_glue(tmp_path)
    sst = load_glue(tmp_path, "sst2", "train")
    assert sst.text_b is None and sst.labels.tolist() == [1, 0]
    assert sst.text_a[1] == 'an "awful" mess'                 # quotes kept: no CSV quoting
    mrpc = load_glue(tmp_path, "mrpc", "dev")
    assert mrpc.labels.tolist() == [1, 0] and mrpc.text_b[0].startswith("Referring")
    rte = load_glue(tmp_path / "RTE", "rte", "train")      # the task folder itself works
    assert rte.labels.tolist() == [1, 0]
    assert load_glue(tmp_path, "rte", "test").labels.tolist() == [-1]
    with pytest.raises(ValueError, match="`task` must be one of"):
        load_glue(tmp_path, "cola")
    (tmp_path / "SST-2" / "dev.tsv").write_text("text\tlabel\nx\t1\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['sentence'\]"):
        load_glue(tmp_path, "sst2", "dev")
    (tmp_path / "SST-2" / "dev.tsv").write_text("sentence\tlabel\nx\t2\n")
    with pytest.raises(ValueError, match="label '2'"):
        load_glue(tmp_path, "sst2", "dev")


def test_tokenizer_pairs(tmp_path):
    write_glue(tmp_path)
    mrpc = load_glue(tmp_path, "mrpc", "dev")
    tok = BasicTokenizer.fit(mrpc.text_a + mrpc.text_b)
    assert tok.itos[:4] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    assert BasicTokenizer.split("It's OK.") == ["it", "'", "s", "ok", "."]
    ids, seg, mask = tok.encode("amrozi accused", "his brother zebra", max_len=10)
    words = [tok.itos[i] for i in ids]
    assert words == ["[CLS]", "amrozi", "accused", "[SEP]", "his", "brother", "[UNK]", "[SEP]", "[PAD]", "[PAD]"]
    assert seg.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0] and mask.tolist() == [1] * 8 + [0, 0]
    ids, seg, mask = tok.encode("a b c d e f", "g h", max_len=7)       # longest part truncated first
    assert int(mask.sum()) == 7 and seg.tolist() == [0, 0, 0, 0, 1, 1, 1]
    enc = mrpc.encode(tok, max_len=16)
    assert enc["input_ids"].shape == (2, 16) and torch.equal(enc["labels"], mrpc.labels)
    assert (enc["input_ids"][:, 0] == tok.cls).all()
