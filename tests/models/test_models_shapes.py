"""Output shapes at tiny sizes, known parameter counts, the GroupNorm option, attention masks,
and the registry."""
import pytest
import torch
from torch import nn

from ahtga.models import (LSTMLM, MLP, BertClassifier, Conv4, ResNet12, SmallCNN, TransformerLM, ViT, build_model,
                          resnet18, resnet50, vgg16)

torch.manual_seed(0)


def count(m):
    return sum(p.numel() for p in m.parameters())


def count_meta(build):
    """Parameter count of a model built on the meta device (no memory, no initialisation cost)."""
    with torch.device("meta"):
        return count(build())


def has_batchnorm(m):
    return any(isinstance(x, nn.modules.batchnorm._BatchNorm) for x in m.modules())


def test_known_parameter_counts():
    # torchvision / kuangliu pytorch-cifar values (ResNet-18 CIFAR 11,173,962; torchvision
    # resnet50 25,557,032 at 1000 classes -> 23,528,522 at 10; VGG-16 ImageNet 138,357,544)
    assert count_meta(lambda: resnet18(10, stem="cifar")) == 11_173_962
    assert count_meta(lambda: resnet18(10, stem="cifar", norm="batch")) == 11_173_962
    assert count_meta(lambda: resnet50(10, stem="imagenet")) == 23_528_522
    assert count_meta(lambda: resnet50(1000, stem="imagenet", norm="batch")) == 25_557_032
    assert count_meta(lambda: resnet50(10, stem="cifar")) == 23_520_842


def test_vgg16_imagenet_count():
    assert count_meta(lambda: vgg16(1000, head="imagenet")) == 138_357_544
    assert count_meta(lambda: ResNet12()) == 12_424_320        # the usual "12.4M" of ResNet-12 papers


@pytest.mark.parametrize("build", [
    lambda n: resnet18(10, norm=n, width=8),
    lambda n: resnet50(10, norm=n, width=4, stem="imagenet"),
    lambda n: vgg16(10, norm=n, width=4),
    lambda n: SmallCNN(1, 10, norm=n, channels=(4, 8), hidden=16),
    lambda n: ResNet12(channels=(4, 8, 8, 16), norm=n),
    lambda n: Conv4(1, hidden=8, norm=n),
])
def test_group_norm_option_has_no_batchnorm(build):
    assert not has_batchnorm(build("group"))
    assert any(isinstance(x, nn.GroupNorm) for x in build("group").modules())
    assert has_batchnorm(build("batch"))


def test_default_norm_is_group():
    for m in (resnet18(10, width=8), resnet50(10, width=4), SmallCNN(), ResNet12(channels=(4, 4, 4, 4)), Conv4()):
        assert not has_batchnorm(m)


@pytest.mark.parametrize("model,x,shape", [
    (lambda: MLP(64, 10, hidden=(16,), norm="layer"), torch.rand(3, 1, 8, 8), (3, 10)),
    (lambda: SmallCNN(1, 10, image_size=28, channels=(4, 8), hidden=16), torch.rand(2, 1, 28, 28), (2, 10)),
    (lambda: SmallCNN(3, 7, image_size=(32, 20), channels=(4, 8), hidden=16), torch.rand(2, 3, 32, 20), (2, 7)),
    (lambda: resnet18(10, stem="cifar", width=8), torch.rand(2, 3, 32, 32), (2, 10)),
    (lambda: resnet18(5, stem="imagenet", width=8), torch.rand(2, 3, 64, 64), (2, 5)),
    (lambda: resnet50(10, stem="cifar", width=4), torch.rand(2, 3, 32, 32), (2, 10)),
    (lambda: resnet50(3, stem="imagenet", width=4), torch.rand(1, 3, 64, 64), (1, 3)),
    (lambda: vgg16(10, width=4, norm="batch"), torch.rand(2, 3, 32, 32), (2, 10)),
    (lambda: vgg16(6, width=4, head="imagenet"), torch.rand(2, 3, 64, 64), (2, 6)),
    (lambda: ViT(image_size=16, patch_size=4, dim=16, depth=2, heads=2, num_classes=10), torch.rand(2, 3, 16, 16), (2, 10)),
    (lambda: ResNet12(channels=(4, 8, 8, 16)), torch.rand(2, 3, 84, 84), (2, 16)),
    (lambda: ResNet12(channels=(4, 8, 8, 16), num_classes=5), torch.rand(2, 3, 32, 32), (2, 5)),
    (lambda: Conv4(1, hidden=8), torch.rand(2, 1, 28, 28), (2, 8)),
    (lambda: Conv4(3, hidden=8, image_size=84, num_classes=5), torch.rand(2, 3, 84, 84), (2, 5)),
])
def test_output_shapes(model, x, shape):
    m = model().eval()
    out = m(x)
    assert out.shape == shape and torch.isfinite(out).all()


def test_language_models_shapes_and_causality():
    ids = torch.randint(0, 50, (2, 12))
    lstm = LSTMLM(50, emb_dim=16, hidden=16, layers=2)
    logits, state = lstm(ids, return_state=True)
    assert logits.shape == (2, 12, 50) and state[0].shape == (2, 2, 16)
    assert LSTMLM(50, emb_dim=8, hidden=8, tie_weights=True).head.weight is not None
    with pytest.raises(ValueError, match="`tie_weights`"):
        LSTMLM(50, emb_dim=8, hidden=16, tie_weights=True)
    tf = TransformerLM(50, dim=16, depth=2, heads=2, max_len=16).eval()
    out = tf(ids)
    assert out.shape == (2, 12, 50)
    ids2 = ids.clone()
    ids2[:, 7:] = (ids2[:, 7:] + 1) % 50                  # change the future only
    out2 = tf(ids2)
    assert torch.allclose(out[:, :7], out2[:, :7], atol=1e-6)
    assert not torch.allclose(out[:, 7:], out2[:, 7:])
    with pytest.raises(ValueError, match="`max_len`"):
        tf(torch.zeros(1, 17, dtype=torch.long))


def test_transformers_use_only_fast_rule_layers():
    allowed = (nn.Linear, nn.Embedding, nn.LayerNorm, nn.Conv2d)
    for m in (TransformerLM(30, dim=8, depth=1, heads=2), ViT(image_size=8, patch_size=4, dim=8, depth=1, heads=2),
              BertClassifier(30, dim=8, depth=1, heads=2)):
        for mod in m.modules():
            if any(True for _ in mod.parameters(recurse=False)):
                assert isinstance(mod, allowed), type(mod)


def test_bert_pairs_and_padding_mask():
    bert = BertClassifier(40, 3, dim=16, depth=2, heads=2, max_len=12).eval()
    ids = torch.randint(4, 40, (2, 12))
    seg = torch.tensor([[0] * 5 + [1] * 4 + [0] * 3] * 2)
    mask = torch.tensor([[1] * 9 + [0] * 3] * 2)
    out = bert(ids, seg, mask)
    assert out.shape == (2, 3)
    ids2 = ids.clone()
    ids2[:, 9:] = 0                                        # padding content must not matter
    assert torch.allclose(bert(ids2, seg, mask), out, atol=1e-6)
    seg2 = seg.clone()
    seg2[:, 5:9] = 0                                       # segment ids do matter
    assert not torch.allclose(bert(ids, seg2, mask), out)
    assert BertClassifier(40, 2, dim=8, depth=1, heads=2, norm_first=True)(ids[:, :8]).shape == (2, 2)


def test_bert_initialisations():
    torch.manual_seed(0)
    b = BertClassifier(500, 2, dim=64, depth=1, heads=2)                  # init="bert"
    t = BertClassifier(500, 2, dim=64, depth=1, heads=2, init="torch")
    assert abs(float(b.pooler.weight.std()) - 0.02) < 0.002
    assert abs(float(b.tok.weight.std()) - 0.02) < 0.002 and float(b.pooler.bias.abs().max()) == 0.0
    # PyTorch defaults: Linear uniform(+-1/sqrt(64)) (std 1/sqrt(3*64)), Embedding N(0, 1)
    assert abs(float(t.pooler.weight.std()) - (3 * 64) ** -0.5) < 0.01
    assert abs(float(t.tok.weight.std()) - 1.0) < 0.05
    with pytest.raises(ValueError, match=r"`init` must be one of .*got init='xavier'"):
        BertClassifier(50, init="xavier")


def test_registry_and_errors():
    m = build_model("resnet18", num_classes=4, width=8)
    assert m(torch.rand(1, 3, 32, 32)).shape == (1, 4)
    p = build_model("protonet", backbone="conv4", hidden=8)
    assert p.embed(torch.rand(2, 1, 28, 28)).shape == (2, 8)
    with pytest.raises(ValueError, match=r"`name` must be one of \[.*'resnet18'.*\]; got name='resnet19'"):
        build_model("resnet19")
    with pytest.raises(ValueError, match="`stem`"):
        resnet18(stem="tiny")
    with pytest.raises(ValueError, match="`norm`"):
        SmallCNN(norm="instance")
    with pytest.raises(ValueError, match="`dim` must be divisible by `heads`"):
        TransformerLM(10, dim=10, heads=3)


def test_hf_path_needs_transformers():
    pytest.importorskip("transformers", reason="optional `transformers` is not installed here")
    from ahtga.models import build_hf_classifier, tiny_bert_config
    m = build_hf_classifier(config=tiny_bert_config(vocab_size=50), num_classes=3)
    ids = torch.randint(0, 50, (2, 10))
    assert m(ids, torch.zeros_like(ids), torch.ones_like(ids)).shape == (2, 3)


def test_hf_path_error_without_transformers():
    try:
        import transformers  # noqa: F401
        pytest.skip("transformers is installed")
    except ImportError:
        pass
    from ahtga.models import build_hf_classifier
    with pytest.raises(ImportError, match="pip install transformers"):
        build_hf_classifier("bert-base-uncased")
