"""Fast engine vs the torch.func reference: norms, weighted gradients, sign gradients."""
from __future__ import annotations

import warnings

import pytest
import torch

from ahtga.engine import PerExampleEngine, per_example_grads, per_example_norms
from engine_models import (Conv1dNet, FunctionalTie, GateNet, LSTMNet, MHANet, SharedNet,
                           TinyLM, TinyLMBroadcastPos, ce, cnn, mlp)


def _x(*shape):
    return lambda b, g: torch.randn(b, *shape, generator=g, dtype=torch.float64)


def _ints(high, *shape):
    return lambda b, g: torch.randint(0, high, (b, *shape), generator=g)


def _bn_eval():
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(64, 3))
    with torch.no_grad():   # running statistics that are not the defaults
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    return net.eval()


# One line per setting: (name, model factory, input (B, generator) -> x, target -> y); the loss
# is ``ce``. A new per-example rule is tested by adding its layer here.
SETTINGS = [
    ("mlp", mlp, _x(3, 2, 2), _ints(3)),
    ("cnn", cnn, _x(3, 8, 8), _ints(3)),                      # Conv2d variants, GroupNorm
    ("conv1d", lambda: Conv1dNet(3), _x(2, 10), _ints(3)),
    ("lm", TinyLM, _ints(5, 7), _ints(11, 7)),                # Embedding (padding, repeats),
    ("lm_tied", lambda: TinyLM(tie=True), _ints(5, 7), _ints(11, 7)),  # LayerNorm, RMSNorm
    ("lstm", LSTMNet, _ints(9, 6), _ints(3)),                 # batched LSTM path (engine.lstm)
    ("mha", MHANet, _x(5, 4), _ints(3)),                      # fallback, batch in dim 1
    ("shared", SharedNet, _x(6), _ints(3)),                   # one Linear twice, custom layer
    ("batchnorm_eval", _bn_eval, _x(3, 4, 4), _ints(3)),      # BatchNorm, running statistics
    ("registered_rule", GateNet, _x(4, 6), _ints(3)),         # a user's rule (engine_models)
]
IDS = [s[0] for s in SETTINGS]


def _data(setting, b, g):
    _, build, make_x, make_y = setting
    model = build().double()
    return model, make_x(b, g), make_y(b, g)


def _reference(model, x, y):
    ref = per_example_grads(model, lambda o, t: ce(o, t).sum(), x, y)
    return {n: ref[n] for n, _ in model.named_parameters()}


def _engine_step(model, x, y, mode="fast"):
    if mode == "standard":
        return _standard_step(model, x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        eng = PerExampleEngine(model, mode=mode)
        # first call: verification; second: planning (every output grad captured); third:
        # layers inside the graph are processed by pre-hooks during the backward
        first = eng.backward(ce(model(x), y))
        eng.backward(ce(model(x), y))
        norms = eng.backward(ce(model(x), y))
    torch.testing.assert_close(first, norms, rtol=1e-12, atol=0)
    if mode == "fast":
        assert eng._streamable, "no layer was processed during the backward"
    return eng, norms


def _standard_step(model, x, y):
    """The standard protocol: the user's backward of the mean loss, then collect()."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        eng = PerExampleEngine(model, loss_reduction="mean")
        for _ in range(3):   # verification on the first collect
            model.zero_grad(set_to_none=True)
            ce(model(x), y).mean().backward()
            norms = eng.collect()
    return eng, norms


@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
@pytest.mark.parametrize("mode", ["fast", "reference", "standard"])
def test_engine_matches_reference(setting, mode):
    seed = IDS.index(setting[0])
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model, x, y = _data(setting, 6, g)
    ref = _reference(model, x, y)
    eng, norms = _engine_step(model, x, y, mode)
    rn = per_example_norms(ref)
    assert norms.shape == (6,)
    torch.testing.assert_close(norms.double(), rn, rtol=1e-5, atol=0)

    # weighted gradient == sum_i w_i g_i == autograd grad of sum_i w_i loss_i
    w = torch.rand(6, generator=g, dtype=torch.float64)
    eng.write_weighted_grad(w)
    mine = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    (w * ce(model(x), y)).sum().backward()
    for n, p in model.named_parameters():
        torch.testing.assert_close(mine[n], p.grad, rtol=1e-7, atol=1e-10)
        torch.testing.assert_close(mine[n], torch.tensordot(w, ref[n], 1), rtol=1e-7, atol=1e-10)

    # sign form == sum_i c_i sign(g_i), on entries where no g_i is round-off around 0 (e.g.
    # attention key biases have exactly zero gradient, whose sign is noise)
    c = torch.randn(6, generator=g, dtype=torch.float64)
    eng.write_sign_grad(c)
    kept = total = 0
    for n, p in model.named_parameters():
        r = ref[n]
        ok = (r.abs() > 1e-9 * r.abs().amax().clamp_min(1e-300)).all(0)
        kept, total = kept + int(ok.sum()), total + ok.numel()
        torch.testing.assert_close(p.grad[ok], torch.tensordot(c, r.sign(), 1)[ok],
                                   rtol=1e-7, atol=1e-10)
    assert kept > total / 3
    eng.remove()


def test_engine_float32_cnn_and_chunking():
    """float32 model, tiny chunk budget (forces chunked ghost/materialise paths)."""
    g = torch.Generator().manual_seed(5)
    model = cnn()
    x, y = torch.randn(9, 3, 8, 8, generator=g), torch.randint(0, 3, (9,), generator=g)
    ref = per_example_norms(_reference(model, x, y))
    eng = PerExampleEngine(model, chunk_elems=500)
    eng.backward(ce(model(x), y))
    eng.backward(ce(model(x), y))
    norms = eng.backward(ce(model(x), y))
    assert norms.dtype == torch.float32
    torch.testing.assert_close(norms, ref, rtol=1e-5, atol=0)


def test_engine_fallback_warns_once():
    """A module without a fast rule warns once (the LSTM has its batched path, GRU does not)."""
    class GRUNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn = torch.nn.Embedding(9, 5), torch.nn.GRU(5, 6, batch_first=True)
            self.fc = torch.nn.Linear(6, 3)

        def forward(self, idx):
            return self.fc(self.rnn(self.emb(idx))[0][:, -1])
    model = GRUNet().double()
    x = torch.randint(0, 9, (4, 6))
    y = torch.randint(0, 3, (4,))
    eng = PerExampleEngine(model)
    with pytest.warns(RuntimeWarning, match="GRU has no fast per-example rule"):
        eng.backward(ce(model(x), y))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eng.backward(ce(model(x), y))


def test_engine_functional_tie_is_reported():
    model = FunctionalTie().double()
    eng = PerExampleEngine(model)
    idx = torch.randint(0, 7, (5, 3))
    with pytest.raises(RuntimeError, match="used outside its module's forward"):
        eng.backward(ce(model(idx), torch.randint(0, 7, (5,))))


def test_engine_unbatched_layer_is_reported():
    model = TinyLMBroadcastPos().double()
    eng = PerExampleEngine(model)
    idx = torch.randint(0, 11, (5, 7))
    with pytest.raises(RuntimeError, match="ran on a batch of 7 examples but `losses` has 5"):
        eng.backward(ce(model(idx), idx))


def test_engine_inplace_on_layer_input_is_reported():
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)

        def forward(self, x):
            h = x * 1.0
            out = self.lin(h)
            h.mul_(2.0)  # changes the stored input after the forward
            return out

    model = M()
    eng = PerExampleEngine(model)
    with pytest.raises(RuntimeError, match="modified in place"):
        eng.backward(ce(model(torch.randn(4, 3)), torch.randint(0, 2, (4,))))


def test_engine_bad_input():
    model = mlp()
    eng = PerExampleEngine(model)
    x, y = torch.randn(4, 12), torch.randint(0, 3, (4,))
    with pytest.raises(ValueError, match=r"`losses` must be a tensor of shape \[B\]"):
        eng.backward(ce(model(x), y).mean())
    with pytest.raises(RuntimeError, match="call backward"):
        eng.write_weighted_grad(torch.ones(4))
    eng.backward(ce(model(x), y))
    with pytest.raises(ValueError, match=r"`weights` must have shape \[4\]"):
        eng.write_weighted_grad(torch.ones(3))
    with pytest.raises(ValueError, match="`coeffs` contains NaN"):
        eng.write_sign_grad(torch.tensor([1.0, float("nan"), 1.0, 1.0]))
    with pytest.raises(ValueError, match="`mode` must be one of"):
        PerExampleEngine(model, mode="ghost")
    with pytest.raises(TypeError, match="`model` must be an nn.Module"):
        PerExampleEngine("model")


@pytest.mark.parametrize("strategy", ["unfold", "grouped", "mixed"])
@pytest.mark.parametrize("cache", [0, 2 ** 25])
def test_engine_conv_strategies_and_cache(strategy, cache):
    """Both ways of materialising conv grads, with and without keeping them, agree."""
    g = torch.Generator().manual_seed(11)
    torch.manual_seed(11)
    model = cnn().double()
    x, y = torch.randn(5, 3, 8, 8, generator=g).double(), torch.randint(0, 3, (5,), generator=g)
    ref = _reference(model, x, y)
    eng = PerExampleEngine(model, conv_strategy=strategy, cache_elems=cache)
    eng.backward(ce(model(x), y))
    eng.backward(ce(model(x), y))
    norms = eng.backward(ce(model(x), y))
    torch.testing.assert_close(norms, per_example_norms(ref), rtol=1e-5, atol=0)
    w = torch.rand(5, generator=g, dtype=torch.float64)
    eng.write_weighted_grad(w)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, torch.tensordot(w, ref[n], 1), rtol=1e-7, atol=1e-10)
    eng.write_sign_grad(w)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, torch.tensordot(w, ref[n].sign(), 1), rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("finish", ["write", "release_only", "forward_only"])
def test_engine_frees_each_steps_graph(finish):
    """Activations of a step are freed after it (no record <-> backward-node cycle)."""
    import gc
    import weakref

    model = cnn()
    eng = PerExampleEngine(model)
    refs = []
    model[3].register_forward_hook(lambda m, i, o: refs.append(weakref.ref(i[0])))
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 3, (4,))
    for _ in range(4):
        losses = ce(model(x), y)
        if finish != "forward_only":
            eng.backward(losses)
        if finish == "write":
            eng.write_weighted_grad(torch.full((4,), 0.25))
        eng.release()
        del losses
    gc.collect()
    assert len(refs) == 4 and all(r() is None for r in refs)
