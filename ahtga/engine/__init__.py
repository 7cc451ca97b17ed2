"""Per-example gradients: torch.func reference, fast per-layer engine, distributed helpers."""
from .engine import PerExampleEngine
from .grouped import RowGroupEngine
from .reference import batched_autograd_grads, per_example_grads, per_example_norms

__all__ = ["PerExampleEngine", "RowGroupEngine", "per_example_grads", "per_example_norms",
           "batched_autograd_grads"]
