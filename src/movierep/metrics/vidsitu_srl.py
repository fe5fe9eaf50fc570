"""VidSitu's semantic-role metrics: CIDEr, CIDEr-verb, CIDEr-arg, ROUGE-L and LEA.

Sadhu et al., CVPR 2021, Table 3; the official evaluator is ``EvalFnCap`` in
``vidsitu_code/evl_fns.py`` (../shared/benchmarks/vidsitu.md §2.2). Reproduced here:

**References.** A validation clip has several annotations in file order. The evaluator
seeds NumPy's global generator with 5 once, then shuffles each clip's annotations in
``ann_idx`` order (``np.random.permutation``). It drops shuffled annotation 3 and keeps
the first 3 (:func:`select_references`).

**Instances.** Each event of reference 0 and each of its role keys whose short name is one
of ``Arg0, Arg1, Arg2, ALoc, AScn`` gives one instance. Its references are the 3
annotators' strings for that key; its hypothesis is the prediction's string for the short
role, or ``""`` if the prediction lacks it. The instance is tagged with reference 0's
verb id and the role. Strings are used raw: no PTB tokenizer, no lowercasing.

**Scores.**
- CIDEr and ROUGE-L: pycocoevalcap's pure-Python CIDEr-D (n = 4, σ = 6, ×10) and ROUGE-L
  (β = 1.2) over all instances. CIDEr's document frequencies come from the references in
  the call.
- CIDEr-verb and CIDEr-arg: separate CIDEr calls on the instances of each verb (each
  role), so document frequencies are recomputed within the group; then the unweighted
  mean over groups.
- LEA (Moosavi & Strube, ACL 2016): the entities are the sets of role slots
  (``"Ev2_Arg0"``) whose strings are exactly equal across the five events. Key entities
  come from one reference annotator; response entities come from the predicted strings
  of the slots that annotator filled. For an entity ``e``, ``link(e) = |e|(|e|−1)/2``, and
  its resolution against the other side is the fraction of its links that fall inside
  one entity there. A singleton counts as resolved when its slot is a singleton there.
  Recall is ``Σ_k |k|·res(k) / Σ_k |k|`` over key entities and precision the same over
  response entities. Both are summed over clips before F1. F1 is computed per reference
  index 0..2, and LEA is the mean of the three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, TypeVar

import numpy as np

EVENT_KEYS = ("Ev1", "Ev2", "Ev3", "Ev4", "Ev5")
#: The roles VidSitu scores (``EvalFnCap.args_used``).
SCORED_ROLES = ("Arg0", "Arg1", "Arg2", "ALoc", "AScn")

#: One annotator's view of one event: its verb id and its scored roles (short name ->
#: text, in the annotation's key order; the caller maps raw keys with VidSitu's
#: ``arg_mapper`` and keeps :data:`SCORED_ROLES`).
EventRoles = tuple[str, Mapping[str, str]]
#: One annotator's five events.
Annotation = Sequence[EventRoles]
T = TypeVar("T")
#: A prediction for one clip: event key (``Ev1``..) -> short role name -> text.
RolePrediction = Mapping[str, Mapping[str, str]]

#: The paper's SRL columns (Table 3), in order.
SRL_METRICS = ("CIDEr", "CIDEr-verb", "CIDEr-arg", "ROUGE-L", "LEA")


def select_references(
    annotations: Sequence[Sequence[T]], *, seed: int = 5, drop: int = 3, keep: int = 3
) -> list[list[T]]:
    """Each clip's shuffled reference annotations, as the evaluator picks them.

    Args:
        annotations: per clip of the split (``ann_idx`` order), its annotations in file order.
        seed: the global NumPy seed the evaluator sets once (5).
        drop: index of the shuffled annotation it leaves out (3).
        keep: how many of the rest are references (3).

    Returns:
        Per clip, ``keep`` (or fewer) annotations; index 0 defines the scored slots.
    """
    rng = np.random.RandomState(seed)  # the legacy global generator np.random.seed seeds
    out = []
    for anns in annotations:
        order = rng.permutation(len(anns))
        shuffled = [anns[i] for i in order]
        out.append([a for i, a in enumerate(shuffled) if i != drop][:keep])
    return out


@dataclass(frozen=True)
class RoleInstance:
    """One scored (clip, event, role): its references, hypothesis, verb and role."""

    ann_idx: int
    event: str
    role: str
    verb_id: str
    references: list[str]
    hypothesis: str


def role_instances(
    predictions: Mapping[int, RolePrediction], references: Sequence[Sequence[Annotation]]
) -> list[RoleInstance]:
    """The scored instances, in the evaluator's order (clips, events, reference-0 keys)."""
    out = []
    for ann_idx in sorted(predictions):
        refs = references[ann_idx]
        for k, ev in enumerate(EVENT_KEYS):
            verb, roles = refs[0][k]
            for role in roles:
                if role not in SCORED_ROLES:
                    continue
                hyp = predictions[ann_idx].get(ev, {}).get(role, "")
                texts = [r[k][1][role] for r in refs]
                out.append(RoleInstance(ann_idx, ev, role, verb, texts, hyp))
    return out


def _cider(instances: Sequence[RoleInstance]) -> tuple[float, np.ndarray]:
    from pycocoevalcap.cider.cider import Cider

    gts = {i: list(x.references) for i, x in enumerate(instances)}
    res = {i: [x.hypothesis] for i, x in enumerate(instances)}
    score, per = Cider().compute_score(gts, res)
    return float(score), np.asarray(per)


def _rouge(instances: Sequence[RoleInstance]) -> float:
    from pycocoevalcap.rouge.rouge import Rouge

    gts = {i: list(x.references) for i, x in enumerate(instances)}
    res = {i: [x.hypothesis] for i, x in enumerate(instances)}
    score, _ = Rouge().compute_score(gts, res)
    return float(score)


def _grouped_cider(instances: Sequence[RoleInstance], key: str) -> float:
    groups: dict[str, list[RoleInstance]] = {}
    for x in instances:
        groups.setdefault(getattr(x, key), []).append(x)
    return float(np.mean([_cider(g)[0] for g in groups.values()]))


def coreference_entities(slots: Mapping[str, str]) -> list[list[str]]:
    """Slots (``"Ev2_Arg0"`` -> text) grouped by identical text: the LEA entities."""
    entities: dict[str, list[str]] = {}
    for slot, text in slots.items():
        entities.setdefault(text, []).append(slot)
    return list(entities.values())


def lea_counts(
    entities: Sequence[Sequence[str]], other: Sequence[Sequence[str]]
) -> tuple[float, int]:
    """``(Σ_e |e|·res(e, other), Σ_e |e|)``: LEA's numerator and denominator for ``entities``.

    ``res(e, other)`` is the fraction of ``e``'s links ``link(e) = |e|(|e|−1)/2`` whose two
    slots share an entity of ``other``; a singleton is resolved when its slot is a
    singleton of ``other``.
    """
    where = {slot: i for i, e in enumerate(other) for slot in e}
    num, den = 0.0, 0
    for e in entities:
        if len(e) == 1:
            resolved = float(e[0] in where and len(other[where[e[0]]]) == 1)
        else:
            pairs = list(combinations(e, 2))
            shared = sum(a in where and b in where and where[a] == where[b] for a, b in pairs)
            resolved = shared / len(pairs)
        num += len(e) * resolved
        den += len(e)
    return num, den


def _f1(p_num: float, p_den: float, r_num: float, r_den: float) -> float:
    p = p_num / p_den if p_den else 0.0
    r = r_num / r_den if r_den else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def lea(
    predictions: Mapping[int, RolePrediction], references: Sequence[Sequence[Annotation]]
) -> float:
    """LEA F1 of the predicted roles' co-reference, the mean over the reference annotators."""
    scores = []
    num_refs = len(references[min(predictions)])
    for g in range(num_refs):
        p_num, p_den, r_num, r_den = 0.0, 0, 0.0, 0
        for ann_idx in sorted(predictions):
            ref = references[ann_idx][g]
            key_slots, sys_slots = {}, {}
            for k, ev in enumerate(EVENT_KEYS):
                for role, text in ref[k][1].items():
                    if role not in SCORED_ROLES:
                        continue
                    key_slots[f"{ev}_{role}"] = text
                    predicted = predictions[ann_idx].get(ev, {})
                    if role in predicted:
                        sys_slots[f"{ev}_{role}"] = predicted[role]
            key, response = coreference_entities(key_slots), coreference_entities(sys_slots)
            pn, pd = lea_counts(response, key)
            rn, rd = lea_counts(key, response)
            p_num, p_den, r_num, r_den = p_num + pn, p_den + pd, r_num + rn, r_den + rd
        scores.append(_f1(p_num, p_den, r_num, r_den))
    return float(np.mean(scores))


def srl_metrics(
    predictions: Mapping[int, RolePrediction], references: Sequence[Sequence[Annotation]]
) -> dict[str, Any]:
    """CIDEr, CIDEr-verb, CIDEr-arg, ROUGE-L and LEA of role predictions.

    Args:
        predictions: ``ann_idx`` -> ``{"Ev1": {"Arg0": text, ...}, ...}`` (a submission's
            ``vb_output``), one per clip of the split.
        references: :func:`select_references` of the split's clips.

    Returns:
        The five metrics (raw pycocoevalcap scale: CIDEr includes its ×10) and per-role
        CIDEr under ``"CIDEr <role>"``.
    """
    if not predictions:
        raise ValueError("no predictions to score")
    instances = role_instances(predictions, references)
    cider, _ = _cider(instances)
    out: dict[str, Any] = {
        "CIDEr": cider,
        "CIDEr-verb": _grouped_cider(instances, "verb_id"),
        "CIDEr-arg": _grouped_cider(instances, "role"),
        "ROUGE-L": _rouge(instances),
        "LEA": lea(predictions, references),
    }
    for role in SCORED_ROLES:
        mine = [x for x in instances if x.role == role]
        if mine:
            out[f"CIDEr {role}"] = _cider(mine)[0]
    return out
