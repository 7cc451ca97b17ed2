"""EMA tracker and the ``python -m ahtga.tail`` command line."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from ahtga.tail import EMATracker
from ahtga.tail.__main__ import main


def test_ema_update_clamp_ignore_and_state():
    ema = EMATracker(beta=0.5, init=2.0, lo=0.5, hi=4.0)
    assert ema.update(1.0) == pytest.approx(1.5) and not ema.last_clamped
    assert ema.update(100.0) == pytest.approx(0.5 * 1.5 + 0.5 * 4.0) and ema.last_clamped
    v = ema.value
    for bad in (math.inf, math.nan, -math.inf):
        assert ema.update(bad) == v and ema.last_ignored and not ema.last_clamped
    ema.update(0.01)
    assert ema.last_clamped and ema.value == pytest.approx(0.5 * v + 0.25)
    state = ema.state_dict()
    other = EMATracker()
    other.load_state_dict(state)
    assert other.state_dict() == state
    assert other.update(3.0) == ema.update(3.0)
    with pytest.raises(KeyError, match="missing"):
        other.load_state_dict({"beta": 0.9})


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    x = (1 - rng.random(3000)) ** (-1 / 1.5) * rng.choice([-1.0, 1.0], 3000)
    np.save(tmp_path / "d.npy", x)
    np.savetxt(tmp_path / "d.csv", x[:, None], delimiter=",", header="value", comments="")
    np.savetxt(tmp_path / "d.txt", x.reshape(-1, 3))
    return tmp_path, x


@pytest.mark.parametrize("name", ["d.npy", "d.csv", "d.txt"])
def test_cli_reads_formats_and_prints_json(files, name, capsys):
    tmp, x = files
    pool = ["--pool"] if name == "d.txt" else []          # d.txt holds the sample as 3 columns
    assert main([str(tmp / name), "--estimator", "hill", "--k", "100", "--json"] + pool) == 0
    out = capsys.readouterr().out.strip().splitlines()
    rec = json.loads(out[-1])
    from ahtga.tail import hill
    assert rec["alpha"] == pytest.approx(float(hill(np.abs(x), 100)), rel=1e-6)
    assert rec["k"] == 100 and rec["n"] == 3000 and rec["estimator"] == "hill"
    assert any(line.startswith("alpha:") for line in out)


def test_cli_signed_estimator_and_seed(files, capsys):
    tmp, x = files
    assert main([str(tmp / "d.npy"), "--estimator", "stable_mmo", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    from ahtga.tail import stable_mmo
    assert rec["alpha"] == pytest.approx(float(stable_mmo(x)), rel=1e-9) and rec["k"] is None
    outs = []
    for _ in range(2):
        assert main([str(tmp / "d.npy"), "--estimator", "hill_db", "--seed", "3", "--json"]) == 0
        outs.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert outs[0] == outs[1] and outs[0]["estimator"] == "hill_db"
    assert main([str(tmp / "d.npy"), "--json"]) == 0          # the default estimator
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["estimator"] == "stable_t_dk"


def test_cli_errors_exit_2(files, tmp_path, capsys):
    tmp, _ = files
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 x\n")
    cases = [([str(tmp / "nope.npy")], "not found"),
             ([str(bad)], "could not read"),
             ([str(tmp / "d.npy"), "--estimator", "foo"], "unknown estimator 'foo'"),
             ([str(tmp / "d.npy"), "--estimator", "hill", "--k", "0"], "`k` must satisfy"),
             ([str(tmp / "d.npy"), "--estimator", "hill_db", "--k", "5"], "--k is not an option")]
    for args, msg in cases:
        assert main(args) == 2
        err = capsys.readouterr().err
        assert msg in err, (args, err)
    # the real entry point, once: exit status and stderr
    p = subprocess.run([sys.executable, "-m", "ahtga.tail", str(tmp / "d.npy"), "--estimator", "foo"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "unknown estimator 'foo'" in p.stderr and p.stdout == ""
