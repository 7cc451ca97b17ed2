"""Closed loop: AHTGA on MNIST small CNN (20000 examples, batch 128, 2 epochs), per-step stats."""
import sys, json, time, warnings, torch, torch.nn.functional as F
from ahtga.data.mnist import load_mnist
from ahtga.models import build_model
from ahtga.optim import AHTGA
from ahtga.control import regime_shares
warnings.simplefilter("ignore")
seed = int(sys.argv[1]); cfg = sys.argv[2]; out = sys.argv[3]
torch.manual_seed(seed); torch.set_num_threads(1)
ds = load_mnist("/work/shared/data/mnist", "train"); te = load_mnist("/work/shared/data/mnist", "test")
g = torch.Generator().manual_seed(seed)
idx = torch.randperm(len(ds), generator=g)[:20000]
x, y = ds.x[idx], ds.y[idx]
model = build_model("small_cnn")
kw = {"new": {}, "source": dict(window=1, estimator="hill_db", target=1.5),
      "new_r1": dict(target={"name": "relative", "base": 1.0})}[cfg]
opt = AHTGA(model, lr=0.1, track_transformed=True, seed=seed, **kw)
rows = []; t0 = time.time()
for ep in range(2):
    perm = torch.randperm(len(x), generator=g)
    for i in range(0, len(x) - 127, 128):
        b = perm[i:i + 128]
        st = opt.step(F.cross_entropy(model(x[b]), y[b], reduction="none"))
        rows.append(st.as_dict())
with torch.no_grad():
    acc = float((model(te.x[:5000]).argmax(1) == te.y[:5000]).float().mean())
json.dump({"cfg": cfg, "seed": seed, "acc": acc, "wall": time.time() - t0,
           "shares_all": regime_shares(rows), "shares_after50": regime_shares(rows[50:]),
           "rows": rows}, open(out, "w"))
print(cfg, seed, acc, regime_shares(rows[50:]), time.time() - t0)
