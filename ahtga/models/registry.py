"""``build_model(name, **kwargs)``: every model of the experiments by name.

Unknown names raise an error listing the valid ones; keyword arguments go to the constructor
(see each class for its options; ``norm`` defaults to "group" wherever a convolutional model has
a normalisation, so that per-example gradients are defined).
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from .bert import BertClassifier
from .cnn import SmallCNN
from .fewshot import Conv4, ProtoNet
from .hf import build_hf_classifier
from .lm import LSTMLM, TransformerLM
from .mlp import MLP
from .resnet import resnet18, resnet50
from .resnet12 import ResNet12
from .vgg import vgg16
from .vit import ViT


def _protonet(*, backbone: str = "conv4", **kw) -> ProtoNet:
    if backbone not in ("conv4", "resnet12"):
        raise ValueError(f"`backbone` must be one of ['conv4', 'resnet12']; got backbone={backbone!r}")
    return ProtoNet(Conv4(**kw) if backbone == "conv4" else ResNet12(**kw))


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLP,
    "small_cnn": SmallCNN,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "vgg16": vgg16,
    "vit": ViT,
    "lstm_lm": LSTMLM,
    "transformer_lm": TransformerLM,
    "bert": BertClassifier,
    "conv4": Conv4,
    "resnet12": ResNet12,
    "protonet": _protonet,
    "hf_classifier": build_hf_classifier,
}


def build_model(name: str, **kwargs) -> nn.Module:
    """Construct model ``name`` (a key of :data:`MODELS`) with ``kwargs``."""
    if name not in MODELS:
        raise ValueError(f"`name` must be one of {sorted(MODELS)}; got name={name!r}")
    return MODELS[name](**kwargs)
