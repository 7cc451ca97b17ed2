"""The progress bar of a run: drawn on a terminal, silent in a log file or when disabled, and its
fields read the last logged point of the step curves."""
import io
import sys

from ahtga.experiments.progress import Progress, postfix


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _draw(monkeypatch, stream, enabled):
    monkeypatch.setattr(sys, "stderr", stream)
    p = Progress(total=10, initial=0, desc="run", enabled=enabled)
    for step in range(1, 11):
        p.update(1)
        p.log(step, {"train_loss": [0.5], "alpha": [1.8], "gamma": [0.2]})
    p.bar.refresh()
    p.close()
    return stream.getvalue()


def test_bar_is_drawn_on_a_terminal(monkeypatch):
    out = _draw(monkeypatch, _Terminal(), enabled=True)
    assert "run" in out and "alpha=1.8" in out


def test_bar_is_silent_in_a_log_file(monkeypatch):
    assert _draw(monkeypatch, io.StringIO(), enabled=True) == ""


def test_bar_is_silent_when_disabled_even_on_a_terminal(monkeypatch):
    assert _draw(monkeypatch, _Terminal(), enabled=False) == ""


def test_postfix_reads_the_last_logged_point_and_skips_missing_fields():
    assert postfix({"train_loss": [1.0, 0.25], "alpha": [2.0, None], "gamma": []}) == \
        {"loss": "0.25"}
    assert postfix({"train_loss": [0.5], "alpha": [1.234567], "gamma": [-0.1]}) == \
        {"loss": "0.5", "alpha": "1.23", "gamma": "-0.1"}
