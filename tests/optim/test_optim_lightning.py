"""End to end with PyTorch Lightning (the ``lightning`` test extra): automatic optimization,
``configure_optimizers`` returning AHTGA on the standard protocol. Lightning calls
``optimizer.step(closure)``; the run equals a hand-written ``loss.backward(); opt.step()`` loop."""
from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ahtga.optim.ahtga import AHTGA
from optim_ahtga_kit import fixed_k_hill

pl = pytest.importorskip("pytorch_lightning")

OPTS = dict(lr=0.1, estimator=fixed_k_hill(6), min_samples=8, target=1.5, window=1,
            loss_reduction="mean")


class Classifier(pl.LightningModule):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
        self.gammas = []

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y)          # the usual mean-reduced loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        self.gammas.append(self.optimizers().optimizer.last_stats.gamma)

    def configure_optimizers(self):
        return AHTGA(self, **OPTS)


def _data():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(96, 5, generator=g)
    return torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long() + (x[:, 1] > 1).long())


def test_lightning_automatic_optimization_equals_the_hand_written_loop(tmp_path):
    module = Classifier()
    manual = copy.deepcopy(module.net)
    loader = torch.utils.data.DataLoader(_data(), batch_size=16, shuffle=False)
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # Lightning's advice on num_workers etc.
        trainer.fit(module, loader)
    assert len(module.gammas) == 12 and all(g == g and g != 0 for g in module.gammas)

    opt = AHTGA(manual, **OPTS)
    gammas = []
    for _ in range(2):
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(manual(x), y).backward()
            gammas.append(opt.step().gamma)
    assert gammas == pytest.approx(module.gammas, rel=1e-6)
    for p, q in zip(module.net.parameters(), manual.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
