"""ECE and reliability diagrams on toy predictions computed by hand."""
import math

import pytest
import torch

from ahtga.metrics import accuracy, expected_calibration_error, generalization_gap, nll, \
    perplexity, reliability_diagram
from ahtga.metrics.ood import auroc, max_softmax_scores


def _probs(confs, preds, C=3):
    """Rows with the given max-probability on the given class, rest spread evenly."""
    rows = []
    for c, k in zip(confs, preds):
        r = [(1 - c) / (C - 1)] * C
        r[k] = c
        rows.append(r)
    return torch.tensor(rows, dtype=torch.float64)


def test_ece_hand_computed_two_bins():
    # 15 bins of width 1/15. Confidences 0.9 (bin 14: (14/15, 1]? no: 0.9*15 = 13.5 -> bin 13)
    # Four examples at conf 0.9, 3 correct -> |0.75 - 0.9| = 0.15, weight 4/6.
    # Two examples at conf 0.6 (0.6*15 = 9 -> bin 8, right-closed), 0 correct -> 0.6, weight 2/6.
    p = _probs([0.9, 0.9, 0.9, 0.9, 0.6, 0.6], [0, 1, 2, 0, 1, 1])
    y = torch.tensor([0, 1, 2, 1, 0, 2])
    ece = expected_calibration_error(p, y)
    assert ece == pytest.approx(4 / 6 * 0.15 + 2 / 6 * 0.6, abs=1e-12)
    d = reliability_diagram(p, y)
    assert d["count"][13] == 4 and d["count"][8] == 2 and sum(d["count"]) == 6
    assert d["accuracy"][13] == pytest.approx(0.75) and d["confidence"][8] == pytest.approx(0.6)
    assert d["accuracy"][0] is None


def test_ece_edge_is_right_closed():
    # confidence exactly 2/3 = 10/15 lies on an edge: it belongs to bin 9 ((9/15, 10/15]).
    p = _probs([2 / 3], [0])
    d = reliability_diagram(p, torch.tensor([0]))
    assert d["count"][9] == 1
    assert expected_calibration_error(p, torch.tensor([0])) == pytest.approx(1 / 3)


def test_ece_perfectly_calibrated_and_bin_count():
    # conf 0.5 with half right is perfectly calibrated; any n_bins gives 0.
    p = _probs([0.5] * 4, [0, 0, 0, 0], C=2)
    y = torch.tensor([0, 0, 1, 1])
    for m in (1, 10, 15):
        assert expected_calibration_error(p, y, n_bins=m) == pytest.approx(0.0, abs=1e-12)
    # with one bin ECE is |mean acc - mean conf|
    p2 = _probs([0.9, 0.6], [0, 0], C=2)
    assert expected_calibration_error(p2, torch.tensor([0, 1]), n_bins=1) == pytest.approx(0.25)


def test_ece_from_logits_matches_probs():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(50, 4, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, 4, (50,), generator=g)
    assert expected_calibration_error(z, y, from_logits=True) == pytest.approx(
        expected_calibration_error(torch.softmax(z, 1), y), abs=1e-12)


def test_ece_errors():
    with pytest.raises(ValueError, match="probs"):
        expected_calibration_error(torch.tensor([[0.5, 0.6]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(torch.tensor([[0.5, 0.5]]), torch.tensor([0]), n_bins=0)
    with pytest.raises(ValueError, match="labels"):
        expected_calibration_error(torch.tensor([[0.5, 0.5]]), torch.tensor([0, 1]))


def test_accuracy_nll_perplexity_gap():
    z = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    y = torch.tensor([0, 0, 0])
    assert accuracy(z, y) == pytest.approx(2 / 3)
    expect = (math.log1p(math.exp(-2)) + math.log1p(math.exp(1)) + math.log1p(math.exp(-3))) / 3
    assert nll(z, y) == pytest.approx(expect, rel=1e-9)
    assert perplexity(math.log(50.0)) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="mean_nll"):
        perplexity(-1.0)
    assert generalization_gap(0.1, 0.4) == pytest.approx(0.3)
    assert generalization_gap(0.99, 0.9, kind="accuracy") == pytest.approx(0.09)
    with pytest.raises(ValueError, match="labels"):
        accuracy(z, torch.tensor([0, 2, 0]))


def test_auroc_known_values():
    assert auroc([0.9, 0.8], [0.1, 0.2]) == pytest.approx(1.0)
    assert auroc([0.1], [0.9]) == pytest.approx(0.0)
    # pairs: (0.9>0.5) (0.9>0.3) (0.5=0.5 -> 1/2) (0.5>0.3) -> 3.5/4
    assert auroc([0.9, 0.5], [0.5, 0.3]) == pytest.approx(3.5 / 4)
    s = max_softmax_scores(torch.tensor([[0.0, 0.0], [10.0, 0.0]]))
    assert s[0] == pytest.approx(0.5) and s[1] > 0.99
