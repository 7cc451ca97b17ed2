"""Progress a person can follow: a tqdm bar per run and optional TensorBoard scalars.

:class:`Progress` shows the steps done of a run with the last logged training loss and, for
AHTGA, its EMA tail index alpha and exponent gamma (``loss=0.412 alpha=1.83 gamma=0.21``), and
after each evaluation the validation accuracy.  The bar is drawn only when standard error is a
terminal: in a log file (``make all > log``, a batch job) tqdm's carriage-return updates would
fill the log, so they are left out there (the result files and ``status`` report progress).  With ``tensorboard`` (a folder; needs the
optional ``tensorboard`` package, ``pip install 'ahtga[tensorboard]'``) the same logged points go
to ``torch.utils.tensorboard.SummaryWriter`` as scalars ``train/loss``, ``train/lr``,
``ahtga/alpha``, ``ahtga/alpha_hat``, ``ahtga/alpha_star``, ``ahtga/gamma`` (by step) and
``eval/val_loss``, ``eval/val_acc``, ``eval/test_loss``, ``eval/test_acc`` (by epoch).
"""
from __future__ import annotations

from tqdm.auto import tqdm

__all__ = ["Progress", "postfix"]


def postfix(s: dict) -> dict:
    """The bar's fields from the step curves ``s`` (their last logged point)."""
    out = {"loss": f"{s['train_loss'][-1]:.4g}"}
    for k in ("alpha", "gamma"):
        v = s.get(k, [None])[-1] if s.get(k) else None
        if v is not None:
            out[k] = f"{v:.3g}"
    return out


class Progress:
    """A run's progress bar (``enabled``) and TensorBoard writer (``tensorboard`` folder)."""

    def __init__(self, *, total: int, initial: int, desc: str, enabled: bool,
                 tensorboard: str | None = None):
        # disable=None: tqdm's own test, off when the output stream is not a terminal
        self.bar = tqdm(total=total, initial=initial, desc=desc, disable=None if enabled else True,
                        leave=False, mininterval=1.0, dynamic_ncols=True)
        self.fields: dict = {}
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as e:    # the optional package is missing
                raise ImportError("--tensorboard needs the optional `tensorboard` package: "
                                  "pip install 'ahtga[tensorboard]'") from e
            self.writer = SummaryWriter(log_dir=str(tensorboard))

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def log(self, step: int, s: dict) -> None:
        """A logged step (the step curves ``s``): bar fields and TensorBoard scalars."""
        self.fields.update(postfix(s))
        self.bar.set_postfix(self.fields, refresh=False)
        if self.writer is not None:
            for key, tag in (("train_loss", "train/loss"), ("lr", "train/lr"), ("alpha", "ahtga/alpha"),
                             ("alpha_hat", "ahtga/alpha_hat"), ("alpha_star", "ahtga/alpha_star"),
                             ("gamma", "ahtga/gamma")):
                v = s[key][-1] if s.get(key) else None
                if v is not None:
                    self.writer.add_scalar(tag, float(v), step)

    def epoch(self, epoch: int, ev: dict) -> None:
        """An evaluation epoch's metrics ``ev`` (``val_acc`` ... or absent)."""
        if ev.get("val_acc") is not None:
            self.fields["val_acc"] = f"{ev['val_acc']:.3f}"
            self.bar.set_postfix(self.fields, refresh=False)
        if self.writer is not None:
            for k in ("val_loss", "val_acc", "test_loss", "test_acc"):
                if ev.get(k) is not None:
                    self.writer.add_scalar(f"eval/{k}", float(ev[k]), epoch)

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None:
            self.writer.close()
