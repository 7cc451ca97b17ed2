"""RowGroupEngine: per-query gradients of Prototypical Networks from an expanded batch equal the
batched-autograd reference (norms, weighted and sign gradients), and bad input is refused."""
import pytest
import torch

from ahtga.data.episodes import Episode
from ahtga.engine import PerExampleEngine
from ahtga.engine.grouped import RowGroupEngine
from ahtga.experiments.fewshot import episode_losses, protonet_rows
from ahtga.models import build_model


def _episode(seed, ways=3, shots=2, queries=2, size=16):
    g = torch.Generator().manual_seed(seed)
    return Episode(support_x=torch.randn(ways * shots, 1, size, size, generator=g, dtype=torch.float64),
                   support_y=torch.arange(ways).repeat_interleave(shots),
                   query_x=torch.randn(ways * queries, 1, size, size, generator=g, dtype=torch.float64),
                   query_y=torch.arange(ways).repeat_interleave(queries),
                   classes=list(range(ways)))


def _model():
    torch.manual_seed(0)
    return build_model("protonet", backbone="conv4", hidden=6, norm="group", in_channels=1,
                       image_size=16).double()


def _reference(model, episodes):
    eng = PerExampleEngine(model, mode="reference")
    losses, _ = episode_losses(model, episodes, {"method": "protonet"})
    norms = eng.backward(losses)
    grads = eng.per_example_grads()
    eng.release()
    eng.remove()
    return losses.detach(), norms, grads


@pytest.mark.parametrize("meta_batch", [1, 2])
def test_rows_equal_the_reference(meta_batch):
    model = _model()
    episodes = [_episode(s) for s in range(meta_batch)]
    ref_losses, ref_norms, ref_grads = _reference(model, episodes)
    B = ref_norms.shape[0]
    eng = RowGroupEngine(model)
    params = dict(model.named_parameters())
    w = torch.rand(B, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for call in range(3):                  # verify, plan, then streamed backwards
        losses, correct, rows, groups = protonet_rows(model, episodes)
        torch.testing.assert_close(losses.detach(), ref_losses)
        assert rows.shape[0] == B * (1 + 6) and int(groups[-1]) == B - 1
        eng.set_rows(rows, groups)
        norms = eng.backward(losses)
        torch.testing.assert_close(norms, ref_norms, rtol=1e-6, atol=1e-9)
        if call == 1:
            eng.write_sign_grad(w)
            for n, p in params.items():
                want = torch.tensordot(w, ref_grads[n].sign(), 1)
                # an entry that is zero up to rounding (e.g. a per-example gradient that vanishes
                # exactly) may take any sign: allow 2 w_q per such entry, nothing else
                tiny = torch.tensordot(w, (ref_grads[n].abs() < 1e-9).double(), 1)
                assert bool(((p.grad - want).abs() <= 2 * tiny * (1 + 1e-9) + 1e-9).all()), n
        else:
            eng.write_weighted_grad(w)
            for n, p in params.items():
                torch.testing.assert_close(p.grad, torch.tensordot(w, ref_grads[n], 1),
                                           rtol=1e-6, atol=1e-9)
        eng.release()


def test_small_chunks_give_the_same_norms():
    model = _model()
    episodes = [_episode(3)]
    _, ref_norms, _ = _reference(model, episodes)
    eng = RowGroupEngine(model, chunk_elems=50)          # one group per chunk
    losses, _, rows, groups = protonet_rows(model, episodes)
    eng.set_rows(rows, groups)
    torch.testing.assert_close(eng.backward(losses), ref_norms, rtol=1e-6, atol=1e-9)


def test_bad_input():
    model = _model()
    eng = RowGroupEngine(model)
    x = torch.ones(4, requires_grad=True)
    with pytest.raises(RuntimeError, match="call set_rows"):
        eng.backward(x)
    with pytest.raises(ValueError, match="`groups` must be sorted and cover 0..B-1"):
        eng.set_rows(x, torch.tensor([0, 2, 2, 3]))
    with pytest.raises(ValueError, match="`groups` must be an int64 tensor"):
        eng.set_rows(x, torch.tensor([0.0, 0.0, 1.0, 1.0]))
    eng.set_rows(x, torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"`losses` has \(3,\) but the rows form 2 groups"):
        eng.backward(torch.ones(3))
    with pytest.raises(ValueError, match="wraps the fast engine"):
        RowGroupEngine(model, mode="reference")


def test_per_example_grads_and_remove():
    model = _model()
    episodes = [_episode(4)]
    _, _, ref_grads = _reference(model, episodes)
    eng = RowGroupEngine(model, chunk_elems=200)
    losses, _, rows, groups = protonet_rows(model, episodes)
    eng.set_rows(rows, groups)
    eng.backward(losses)
    got = eng.per_example_grads()
    assert set(got) == set(ref_grads)
    for n, g in got.items():
        torch.testing.assert_close(g, ref_grads[n], rtol=1e-6, atol=1e-9)
    eng.remove()
    with pytest.raises(RuntimeError, match="call backward first"):
        eng.per_example_grads()
    protonet_rows(model, episodes)           # no hooks left: nothing is recorded
    assert not eng.inner._pending
