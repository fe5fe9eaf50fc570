"""movierep's VidSitu metrics against the official evaluator, on the same predictions.

Writes random predictions for every clip of a VidSitu validation split in the official
submission layout (verbs: top-5 draws from the split's verbs; relations: random labels;
roles: a mix of the reference's own strings, random words and missing roles). It then
scores them with VidSitu's own ``vidsitu_code/evl_fns.py`` and with
:mod:`movierep.metrics.vidsitu` / :mod:`movierep.metrics.vidsitu_srl`, and writes both
sets of numbers to JSON.

The official code is not part of movierep. Point the script at local checkouts of
TheShadow29/VidSitu and of its ``coval`` fork (commit 2be2d07, which has ``lea_soft``).
pycocoevalcap 1.2 stands in for the evaluator's coco-caption fork. Two shims apply: its
``Meteor`` is replaced by a stub, since the evaluator builds it (it spawns Java) but never
scores with it; and ``Bleu`` accepts the fork's ``verbose`` argument.

    python benchmarks/vidsitu_official_check.py corpus/vidsitu --vidsitu ~/src/VidSitu \\
        --coval ~/src/coval --out check.json
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from movierep.data.benchmarks.vidsitu import EVENT_KEYS, EVREL_LABELS, arg_short_name, load_vidsitu
from movierep.metrics.vidsitu import relation_metrics, verb_metrics
from movierep.metrics.vidsitu_srl import select_references, srl_metrics
from movierep.tasks.protocols.vidsitu_relations import annotated_relations
from movierep.tasks.protocols.vidsitu_srl import scored_annotations
from movierep.tasks.protocols.vidsitu_verbs import verb_votes


def official_module(vidsitu: Path, coval: Path) -> Any:
    """Import ``evl_fns`` from a VidSitu checkout with the two compatibility shims."""
    import pycocoevalcap.bleu.bleu as bleu
    import pycocoevalcap.meteor.meteor as meteor

    class NoMeteor:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

    class Bleu(bleu.Bleu):  # type: ignore[misc]
        def __init__(self, n: int = 4, verbose: int = 0) -> None:
            super().__init__(n)

    meteor.Meteor = NoMeteor
    bleu.Bleu = Bleu
    sys.path[:0] = [str(coval), str(vidsitu / "vidsitu_code")]
    import evl_fns  # type: ignore[import-not-found]

    return evl_fns


def random_predictions(clips: list[Any], seed: int) -> dict[str, list[dict[str, Any]]]:
    """Random verb, relation and role submissions for ``clips``."""
    rng = random.Random(seed)
    verbs = sorted({v for c in clips for ev in c.verb_votes for v in ev})
    words = sorted(
        {
            w
            for c in clips
            for a in c.annotations
            for e in a
            for t in e.args.values()
            for w in t.split()
        }
    )
    out: dict[str, list[dict[str, Any]]] = {"vb": [], "evrel": [], "vb_arg": []}
    for i, c in enumerate(clips):
        out["vb"].append({"ann_idx": i, "pred_vbs_ev": [rng.sample(verbs, 5) for _ in EVENT_KEYS]})
        labels = [[rng.choice(EVREL_LABELS) for _ in range(3)] for _ in range(4)]
        out["evrel"].append({"ann_idx": i, "pred_evrels_ev": labels})
        roles = {}
        for k, ev in enumerate(EVENT_KEYS):
            mine = {}
            for raw, text in c.annotations[0][k].args.items():
                r = rng.random()
                if r < 0.3:
                    mine[str(arg_short_name(raw))] = text
                elif r < 0.8:
                    mine[str(arg_short_name(raw))] = " ".join(rng.sample(words, rng.randint(1, 4)))
            roles[ev] = mine
        out["vb_arg"].append({"ann_idx": i, "vb_output": roles})
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Score one set of random predictions both ways; write and return the JSON report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="VidSitu folder (vidsitu_annotations/ inside)")
    p.add_argument("--vidsitu", type=Path, required=True, help="a TheShadow29/VidSitu checkout")
    p.add_argument("--coval", type=Path, required=True, help="its coval fork (2be2d07)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/vidsitu_official_check.json")
    )
    args = p.parse_args(argv)
    evl = official_module(args.vidsitu, args.coval)
    from yacs.config import CfgNode

    ann = args.data / "vidsitu_annotations"
    files = {
        "split_files_lb": ann / "split_files/vseg_split_valid_lb.json",
        "vinfo_files_lb": ann / "vinfo_files/vinfo_valid_lb.json",
        "vsitu_ann_files_lb": ann / "vseg_ann_files/vsann_valid_lb.json",
    }
    cfg = CfgNode(
        {"debug_mode": False, "ds": {"vsitu": {k: {"valid": str(v)} for k, v in files.items()}}}
    )
    clips = load_vidsitu(args.data, "val")
    preds = random_predictions(clips, args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="vidsitu_check_"))
    for task, obj in preds.items():
        (tmp / f"{task}.pkl").write_bytes(pickle.dumps(obj))
    off_vb = evl.EvlFn_Vb(cfg, {}, ["acc"]).simple_acc(str(tmp / "vb.pkl"), "valid")
    off_rel = evl.EvlFn_EvRel(cfg, {}, ["Top_1"]).simple_acc_evrel(str(tmp / "evrel.pkl"), "valid")
    off_srl = evl.EvalFnCap(cfg, None, met_keys=["cider", "rouge"]).eval_cap_mets(
        str(tmp / "vb_arg.pkl"), "valid"
    )
    votes = verb_votes(clips)  # the ground truths movierep's eval commands use
    ours_vb = verb_metrics(
        {(q["ann_idx"], k): q["pred_vbs_ev"][k] for q in preds["vb"] for k in range(5)}, votes
    )
    gts = {
        (i, j): rel for i, c in enumerate(clips) for j, rel in enumerate(annotated_relations(c, 3))
    }
    ours_rel = relation_metrics(
        {(q["ann_idx"], j): q["pred_evrels_ev"][j] for q in preds["evrel"] for j in range(4)}, gts
    )
    refs = select_references([scored_annotations(c) for c in clips])
    ours_srl = srl_metrics({q["ann_idx"]: q["vb_output"] for q in preds["vb_arg"]}, refs)
    pairs = {
        "Acc@1": (off_vb["Per_Ev_Top_1"], ours_vb["Acc@1"]),
        "Acc@5": (off_vb["Per_Ev_Top_5"], ours_vb["Acc@5"]),
        "Recall@5": (off_vb["recall_macro_1_th_9"], ours_vb["Recall@5"]),
        "Mean-Acc": (off_rel["Macro_Top_1"], ours_rel["Mean-Acc"]),
        "Top-1": (off_rel["Top_1"], ours_rel["Top-1"]),
        "CIDEr": (off_srl["cider"], ours_srl["CIDEr"]),
        "CIDEr-verb": (off_srl["MacroVb_cider"], ours_srl["CIDEr-verb"]),
        "CIDEr-arg": (off_srl["MacroArg_cider"], ours_srl["CIDEr-arg"]),
        "ROUGE-L": (off_srl["rouge"], ours_srl["ROUGE-L"]),
        "LEA": (off_srl["lea"], ours_srl["LEA"]),
    }
    report = {
        "benchmark": "vidsitu_official_check",
        "data": str(args.data),
        "clips": len(clips),
        "metrics": {k: {"official": float(a), "movierep": float(b)} for k, (a, b) in pairs.items()},
        "max_abs_difference": max(abs(float(a) - float(b)) for a, b in pairs.values()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, report, indent=1)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
