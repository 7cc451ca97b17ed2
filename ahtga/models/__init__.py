"""Models of the experiments (torch only). Convolutional models take ``norm="group"`` by default
(per-example gradients need it), ``"batch"`` or ``"none"``. Transformers are built from
``nn.Linear``, ``nn.LayerNorm`` and ``nn.Embedding`` only, the layers the per-example engine
handles with its fast rules. :func:`build_model` constructs any of them by name.
"""
from .bert import BertClassifier
from .cnn import SmallCNN
from .fewshot import MAML, Conv4, ProtoNet, maml_adapt, prototypes, prototypical_logits, prototypical_loss
from .hf import HFClassifier, build_hf_classifier, tiny_bert_config
from .lm import LSTMLM, TransformerLM
from .mlp import MLP
from .registry import MODELS, build_model
from .resnet import ResNet, resnet18, resnet50
from .resnet12 import ResNet12
from .vgg import VGG, vgg16
from .vit import ViT

__all__ = [n for n in dir() if not n.startswith("_")]
