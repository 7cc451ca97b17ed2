"""Language models at the ``small`` scale (presets with ``task="lm"``: ``shakespeare_char``,
``ptb_lstm``) measured on a 2-core CPU and copied to
``paper/measured/small/<preset>/<optimizer>/seed<k>.json`` (provenance in
``paper/measured/README.md``).

One tabular per preset, one row per optimizer: the learning rate (each optimizer's own sweep),
test, validation and training perplexity (exp of the mean per-token cross-entropy; lower is
better), next-token test accuracy; mean and two-sided 95% Student-t interval over seeds, best
mean per column in bold.  A placeholder table when no language-model preset was measured.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_small_lowdata import steps_text  # noqa: E402
from tab_small_main import tabular  # noqa: E402

COLS = [("test_ppl", "test ppl", 2, False, 1.0), ("val_ppl", "val.\\ ppl", 2, False, 1.0),
        ("train_ppl", "train ppl", 2, None, 1.0), ("test_acc", "next-token acc.", 4, True, 1.0)]


def lm_records(measured) -> dict[str, list[dict]]:
    """``{preset: records}`` of the language-model presets under ``MEASURED/small``."""
    groups = C.small_groups(measured, lambda p, rs: C.get(rs[0], "config.task") == "lm")
    return {p: groups[p] for p in sorted(groups)}


def setting(rs) -> str:
    """``"8000 sequences of 64 tokens (vocabulary 65), 2 epochs of batch 32 (500 steps)"``."""
    r = rs[0]
    eps = C.joined(C.get(x, "config.epochs") for x in rs)
    return (f"{C.get(r, 'data.n_train')} training sequences of {C.get(r, 'config.seq_len')} tokens "
            f"(vocabulary {C.get(r, 'data.vocab_size')}), {eps} epoch{'' if eps == '1' else 's'} of batch "
            f"{C.get(r, 'config.batch_size')} ({steps_text(rs)} steps)")


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    C.write_group_tables(
        a.out, lm_records(a.measured),
        lambda p, rs: tabular(rs, p, COLS, with_lr=True,
                              title=C.tex_escape(f"{C.stamp(rs, p)}; {setting(rs)}")),
        missing="language models at small scale: measurement not available",
        missing_report="small-scale language-model runs not available")


if __name__ == "__main__":
    main()
