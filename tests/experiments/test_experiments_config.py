"""Config errors, --set coercion, presets, atomic writes, t-intervals (no training here)."""
import json
import math
import os

import pytest

from ahtga.experiments import format_table, t_interval
from ahtga.experiments.aggregate import aggregate
from ahtga.experiments.cli import parse_seeds
from ahtga.experiments.config import RunConfig, apply_overrides, coerce, parse_set
from ahtga.experiments.presets import PRESETS, VARIANTS, VARIANT_GRIDS, resolve
from ahtga.experiments.optimizers import resolve_optimizer
from ahtga.experiments.store import read_json, result_path, write_json_atomic


def test_unknown_key_is_an_error_naming_it():
    with pytest.raises(KeyError, match="Unknown config key: 'epoch'"):
        apply_overrides(RunConfig(), {"epoch": 3})
    with pytest.raises(KeyError, match="Unknown config key: 'lrr'"):
        parse_set(["lrr=0.1"])
    with pytest.raises(KeyError, match="Unknown config key: 'bogus'"):
        resolve("main", "tiny", {"bogus": 1})
    with pytest.raises(ValueError, match="key=value"):
        parse_set(["epochs"])


def test_set_coercion_follows_field_types():
    assert coerce("epochs", "7") == 7 and isinstance(coerce("epochs", "7"), int)
    assert coerce("lr", "3e-4") == pytest.approx(3e-4)
    for t in ("true", "1", "yes", "on", "True"):
        assert coerce("dynamics", t) is True
    for f in ("false", "0", "no", "off"):
        assert coerce("dynamics", f) is False
    assert coerce("optimizers", "sgd, adam,ahtga") == ("sgd", "adam", "ahtga")
    assert coerce("perturbations", "") == ()
    assert coerce("data_dir", "none") is None and coerce("data_dir", "/x") == "/x"
    assert coerce("model_kwargs", '{"hidden": [32]}') == {"hidden": [32]}
    with pytest.raises(ValueError, match="epochs"):
        coerce("epochs", "2.5")
    with pytest.raises(ValueError, match="dynamics"):
        coerce("dynamics", "maybe")
    with pytest.raises(ValueError, match="model_kwargs"):
        coerce("model_kwargs", "[1, 2]")
    cfg = resolve("main", "tiny", parse_set(["epochs=3", "optimizers=sgd", "lr=0.05"]))
    assert (cfg.epochs, cfg.optimizers, cfg.lr) == (3, ("sgd",), 0.05)


def test_validation_of_values_names_the_field():
    with pytest.raises(ValueError, match="scale"):
        apply_overrides(RunConfig(), {"scale": "huge"})
    with pytest.raises(ValueError, match="label_noise"):
        apply_overrides(RunConfig(), {"label_noise": 1.5})
    with pytest.raises(ValueError, match="epochs"):
        apply_overrides(RunConfig(), {"epochs": 0})
    with pytest.raises(ValueError, match="optimizers"):
        apply_overrides(RunConfig(), {"optimizers": ()})


def test_every_preset_resolves_and_names_real_optimizers():
    from ahtga.optim import LR_GRIDS, OPTIMIZERS
    from ahtga.tail import ESTIMATORS

    for name, p in PRESETS.items():
        assert p.scales, name
        for scale in p.scales:
            cfg = resolve(name, scale)
            assert cfg.preset == name and cfg.scale == scale
            for lab in cfg.optimizers:
                reg, kw = resolve_optimizer(lab)
                assert reg in OPTIMIZERS, (name, lab)
                assert reg in LR_GRIDS or lab in VARIANT_GRIDS
                if "estimator" in kw:
                    assert kw["estimator"] in ESTIMATORS
    with pytest.raises(KeyError, match="unknown preset"):
        resolve("nope")
    with pytest.raises(ValueError, match="no 'tiny' version"):
        resolve("cifar10", "tiny")
    # a preset that reuses another's learning rates trains the same model on the same data
    from ahtga.experiments.lr import sweep_setting
    for name, p in PRESETS.items():
        for scale in p.scales:
            cfg = resolve(name, scale)
            if cfg.lr_from and scale in PRESETS[cfg.lr_from].scales:
                assert sweep_setting(cfg) == sweep_setting(resolve(cfg.lr_from, scale)), (name, scale)
    # presets override only what differs: main at tiny keeps the dataclass default batch size
    assert resolve("main", "tiny").eval_batch_size == RunConfig().eval_batch_size
    assert resolve("noise_asym40", "tiny").label_noise_kind == "asymmetric"


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("3,1,1") == [1, 3]
    with pytest.raises(ValueError, match="seeds"):
        parse_seeds("4-2")
    with pytest.raises(ValueError, match="seeds"):
        parse_seeds("a")


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    p = tmp_path / "a" / "seed0.json"
    write_json_atomic(p, {"x": 1.0, "bad": float("nan"), "t": (1, 2)})
    assert read_json(p) == {"x": 1.0, "bad": None, "t": [1, 2]}  # strict JSON: NaN -> null
    # an unserialisable object fails before anything is written: the old file is intact
    with pytest.raises(TypeError):
        write_json_atomic(p, {"x": object()})
    assert read_json(p)["x"] == 1.0
    # a failure in the middle of writing (here: fsync) never exposes a partial target
    q = tmp_path / "b" / "seed1.json"

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(q, {"big": list(range(1000))})
    assert not q.exists()
    assert result_path(tmp_path, "main", "sgd", 3) == tmp_path / "main" / "sgd" / "seed3.json"


def test_t_interval_known_numbers():
    # values 1, 2, 3: mean 2, s = 1, t_{0.975, 2} = 4.302652729911275 (standard t table)
    r = t_interval([1.0, 2.0, 3.0])
    assert r["mean"] == pytest.approx(2.0) and r["std"] == pytest.approx(1.0)
    assert r["half_width"] == pytest.approx(4.302652729911275 / math.sqrt(3), rel=1e-9)
    # n = 5, values 10..14: s = sqrt(2.5), t_{0.975, 4} = 2.7764451051977987
    r5 = t_interval([10, 11, 12, 13, 14])
    assert r5["half_width"] == pytest.approx(2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5))
    assert t_interval([4.0])["half_width"] is None and t_interval([])["mean"] is None


def test_aggregate_over_result_files(tmp_path):
    vals = {"sgd": [0.9, 0.92, 0.94], "adam": [0.8, 0.8, 0.8]}
    for opt, vs in vals.items():
        for s, v in enumerate(vs):
            write_json_atomic(result_path(tmp_path, "p", opt, s), {
                "preset": "p", "optimizer": opt, "seed": s, "config": {"optimizers": ["sgd", "adam"]},
                "final": {"test_acc": v, "ood": {"auroc": 0.5 + s / 10}, "diverged": False}})
    write_json_atomic(result_path(tmp_path, "p", "adam", 3), {
        "preset": "p", "optimizer": "adam", "seed": 3, "config": {"optimizers": ["sgd", "adam"]},
        "final": {"test_acc": 0.1, "diverged": True}})
    tab = aggregate(tmp_path, "p", ["test_acc", "ood.auroc"])
    assert list(tab) == ["sgd", "adam"]
    assert tab["sgd"]["test_acc"]["mean"] == pytest.approx(0.92)
    assert tab["sgd"]["test_acc"]["half_width"] == pytest.approx(4.302652729911275 * 0.02 / math.sqrt(3))
    assert tab["adam"]["test_acc"]["half_width"] == pytest.approx(0.0)
    assert tab["adam"]["test_acc"]["diverged"] == 1 and tab["adam"]["test_acc"]["n"] == 3
    assert tab["sgd"]["ood.auroc"]["mean"] == pytest.approx(0.6)
    assert "sgd" in format_table(tab)
