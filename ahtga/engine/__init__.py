"""Per-example gradients: torch.func reference, fast per-layer engine (its rules registered with
``register_rule``), distributed helpers."""
from .engine import PerExampleEngine
from .grouped import RowGroupEngine
from .hooks import Contribution, FactorContribution, Materialised
from .reference import batched_autograd_grads, per_example_grads, per_example_norms
from .registry import RuleContext, register_rule, registered_types, rule_for

__all__ = ["PerExampleEngine", "RowGroupEngine", "per_example_grads", "per_example_norms",
           "batched_autograd_grads", "register_rule", "RuleContext", "rule_for",
           "registered_types", "Contribution", "Materialised", "FactorContribution"]
