"""The text side of semantic-role generation: VidSitu's target sequence and its tokenizer.

VidSitu's release (``dat_loader.py::get_vb_arg_data``; ../shared/benchmarks/vidsitu.md
§3.2) writes an event's roles as one sequence after its verb:

    talk.01 <Arg0> the tall man <Arg1> the woman <AScn> a kitchen <eos>

Roles come in ``Arg_List`` order, every annotated role is included, and each gets only a
start tag. The sequence has at most 60 tokens; when truncated, the last token becomes
``<eos>``. Decoding splits a generated sequence at the tags, so each tag's words are its
role's text (``evl_vsitu.py::conv_seq_to_srl``).

The release tokenizes with GPT-2's BPE. No tokenizer can be downloaded here, so
:class:`RoleTokenizer` is a word vocabulary built from the training strings (whitespace
words, case kept, as the evaluator compares raw whitespace-split strings). Verb ids and
role tags are single tokens. It is saved as JSON beside the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from movierep import files
from movierep.errors import UserError

PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"
#: Every short role name VidSitu's ``arg_mapper`` produces; each is a tag token ``<Arg0>``.
ROLE_NAMES = ("Arg0", "Arg1", "Arg2", "Arg3", "Arg4", "Arg5", "ALoc", "AScn", "AMnr", "ADir",
              "APrp", "AGol")  # fmt: skip
MAX_TOKENS = 60


def tag(role: str) -> str:
    """The tag token of a short role name: ``Arg0`` -> ``<Arg0>``."""
    return f"<{role}>"


class RoleTokenizer:
    """Word-level tokenizer of role sequences; ids 0, 1, 2 are ``<pad> <unk> <eos>``.

    Args:
        tokens: the vocabulary in id order (specials and tags first).
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        if list(tokens[:3]) != [PAD, UNK, EOS]:
            raise UserError("a role vocabulary starts with <pad> <unk> <eos>")
        self.tokens = list(tokens)
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        if len(self.ids) != len(self.tokens):
            raise UserError("a role vocabulary lists a token twice")
        self.pad_id, self.unk_id, self.eos_id = 0, 1, 2
        self.tags = {self.ids[tag(r)]: r for r in ROLE_NAMES if tag(r) in self.ids}

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(
        cls, events: Iterable[tuple[str, Sequence[tuple[str, str]]]], min_count: int = 1
    ) -> RoleTokenizer:
        """A vocabulary from training events ``(verb_id, [(role, text), ...])``.

        Words seen fewer than ``min_count`` times become ``<unk>``. Verbs always get a
        token.
        """
        verbs: set[str] = set()
        words: Counter[str] = Counter()
        for verb, roles in events:
            verbs.add(verb)
            for _, text in roles:
                words.update(text.split())
        specials = [PAD, UNK, EOS, *(tag(r) for r in ROLE_NAMES)]
        kept = sorted(w for w, n in words.items() if n >= min_count and w not in specials)
        return cls([*specials, *sorted(verbs - set(kept)), *kept])

    def encode(
        self, verb: str, roles: Sequence[tuple[str, str]], max_tokens: int = MAX_TOKENS
    ) -> list[int]:
        """``[verb, <role>, words..., ..., <eos>]``, at most ``max_tokens`` (ends in ``<eos>``)."""
        if verb not in self.ids:
            raise UserError(f"verb {verb!r} is not in the role vocabulary")
        ids = [self.ids[verb]]
        for role, text in roles:
            if role not in ROLE_NAMES:
                raise UserError(f"unknown role {role!r}; known: {', '.join(ROLE_NAMES)}")
            ids.append(self.ids[tag(role)])
            ids += [self.ids.get(w, self.unk_id) for w in text.split()]
        ids.append(self.eos_id)
        if len(ids) > max_tokens:
            ids = [*ids[: max_tokens - 1], self.eos_id]
        return ids

    def decode(self, ids: Sequence[int]) -> dict[str, str]:
        """Generated ids after the verb -> ``{role: text}``.

        Words before the first tag are dropped; a role tagged twice keeps its last text.
        """
        roles: dict[str, str] = {}
        current: str | None = None
        words: list[str] = []

        def close() -> None:
            if current is not None:
                roles[current] = " ".join(words)

        for i in ids:
            if i == self.eos_id:
                break
            if i in self.tags:
                close()
                current, words = self.tags[i], []
            elif i != self.pad_id:
                words.append(self.tokens[i])
        close()
        return roles

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON (``{"tokens": [...]}``)."""
        files.write_json(Path(path), {"tokens": self.tokens})

    @classmethod
    def load(cls, path: str | Path) -> RoleTokenizer:
        """Read a vocabulary written by :meth:`save`."""
        data = files.read_json(Path(path))
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise UserError(f"{path}: not a role vocabulary (expected {{'tokens': [...]}})")
        return cls([str(t) for t in data["tokens"]])
