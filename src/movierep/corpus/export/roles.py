"""How simulated VidSitu annotators write verbs and semantic roles.

VidSitu's annotators name each role filler in their own words, keep one wording for one
entity across the five events of a clip (the LEA coreference metric relies on it), label
roles with PropBank-style keys such as ``"Arg0 (pusher)"`` and sometimes vote for a
near-synonym verb. This module holds the vocabulary that imitates that:

- :func:`role_keys`: raw role keys for a verb (PropBank-style descriptions per verb, generic
  ``agent / patient / instrument/target`` otherwise) plus ``"Scene of the Event"``;
- :class:`Paraphraser`: one wording per entity per annotator, from the character's
  attributes ("the small red square" / "a little red box" / "tiny crimson square");
- :func:`near_synonyms`: plausible substitute verbs for the verb votes.
"""

from __future__ import annotations

import numpy as np

from movierep.corpus.export.source import Character

SCENE_KEY = "Scene of the Event"
MANNER_KEY = "ArgM (manner)"

# PropBank-style descriptions of Arg0, Arg1, Arg2 per verb (frame files' wording where they
# exist); any other verb gets GENERIC_ROLES.
GENERIC_ROLES = ("agent", "patient", "instrument/target")
VERB_ROLES: dict[str, tuple[str, str, str]] = {
    "approach": ("approacher", "thing approached", "manner"),
    "chase": ("chaser", "thing chased", "direction"),
    "embrace": ("hugger", "thing hugged", "manner"),
    "fall": ("faller", "thing fallen onto", "end point"),
    "flee": ("fleer", "thing fled from", "direction"),
    "follow": ("follower", "thing followed", "path"),
    "give": ("giver", "thing given", "recipient"),
    "grow": ("causer of growth", "thing growing", "amount"),
    "hit": ("hitter", "thing hit", "instrument"),
    "jump": ("jumper", "obstacle", "destination"),
    "kiss": ("kisser", "thing kissed", "manner"),
    "look": ("looker", "thing looked at", "attribute"),
    "push": ("pusher", "thing pushed", "direction"),
    "run": ("runner", "course", "direction"),
    "shake": ("shaker", "thing shaken", "instrument"),
    "shrink": ("causer of shrinking", "thing shrinking", "amount"),
    "sit": ("sitter", "seat", "location"),
    "smoke": ("smoker", "thing smoked", "location"),
    "spin": ("spinner", "thing spun", "axis"),
    "talk": ("talker", "hearer", "subject"),
    "walk": ("walker", "path", "direction"),
    "wave": ("waver", "waved at", "thing waved"),
}

# Groups of verbs an annotator may use for one another (motions that look alike).
SYNONYM_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"walk", "run", "approach"}),
    frozenset({"run", "flee", "chase"}),
    frozenset({"chase", "approach", "follow"}),
    frozenset({"push", "hit", "shake"}),
    frozenset({"talk", "wave"}),
    frozenset({"wave", "shake"}),
    frozenset({"grow", "shrink"}),
    frozenset({"spin", "shake", "jump"}),
    frozenset({"jump", "fall"}),
    frozenset({"fall", "sit"}),
    frozenset({"sit", "smoke"}),
    frozenset({"embrace", "kiss"}),
)

# Re-wordings of role texts that are not characters (directions, manners of speaking).
TEXT_WORDS = {
    "to the right": ("to the right", "rightward", "towards the right"),
    "to the left": ("to the left", "leftward", "towards the left"),
    "explains": ("explains", "explaining", "by explaining"),
    "confronts": ("confronts", "confrontationally", "in confrontation"),
    "discuss": ("discuss", "discussing", "in discussion"),
    "teaches": ("teaches", "instructively", "by teaching"),
    "threatens": ("threatens", "threateningly", "menacingly"),
}

SIZE_WORDS = {
    "tiny": ("tiny", "minuscule", "very small"),
    "small": ("small", "little", "tiny"),
    "medium": ("medium", "medium-sized", "mid-sized"),
    "large": ("large", "big", "huge"),
    "big": ("big", "large", "sizable"),
    "huge": ("huge", "giant", "enormous"),
}
COLOR_WORDS = {
    "red": ("red", "crimson", "scarlet"),
    "blue": ("blue", "azure", "navy"),
    "green": ("green", "emerald", "lime"),
    "yellow": ("yellow", "golden", "lemon"),
    "orange": ("orange", "amber", "tangerine"),
    "purple": ("purple", "violet", "lilac"),
    "pink": ("pink", "rose", "magenta"),
    "white": ("white", "ivory", "pale"),
    "black": ("black", "dark", "jet-black"),
    "gray": ("gray", "grey", "silver"),
    "grey": ("grey", "gray", "silver"),
    "brown": ("brown", "tan", "chocolate"),
    "cyan": ("cyan", "teal", "turquoise"),
    "magenta": ("magenta", "fuchsia", "pink"),
}
SHAPE_WORDS = {
    "square": ("square", "box", "block"),
    "circle": ("circle", "disc", "ball"),
    "triangle": ("triangle", "wedge", "pyramid"),
    "rectangle": ("rectangle", "bar", "slab"),
    "diamond": ("diamond", "rhombus", "lozenge"),
    "ellipse": ("ellipse", "oval", "egg"),
    "oval": ("oval", "ellipse", "egg"),
    "star": ("star", "starburst", "star shape"),
    "hexagon": ("hexagon", "hex", "six-sided shape"),
    "pentagon": ("pentagon", "five-sided shape", "pentagon shape"),
    "cross": ("cross", "plus sign", "cross shape"),
    "ring": ("ring", "hoop", "donut"),
}


def role_keys(verb: str) -> tuple[str, str, str]:
    """Raw VidSitu keys of Arg0, Arg1, Arg2 for ``verb``, e.g. ``"Arg0 (pusher)"``."""
    names = VERB_ROLES.get(verb, GENERIC_ROLES)
    return (f"Arg0 ({names[0]})", f"Arg1 ({names[1]})", f"Arg2 ({names[2]})")


def near_synonyms(verb: str, vocabulary: list[str]) -> list[str]:
    """Verbs of ``vocabulary`` an annotator could use for ``verb`` (sorted, never ``verb``).

    Verbs sharing a synonym group come first; a verb without one gets every other verb
    of the vocabulary (a confusion among the corpus' own verbs).
    """
    known = set(vocabulary) - {verb}
    close = sorted({v for g in SYNONYM_GROUPS if verb in g for v in g} & known)
    return close or sorted(known)


def place_text(place: str) -> str:
    """The canonical scene text of a place class (``"train_station"`` -> ``"train station"``)."""
    return place.replace("_", " ")


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


class Paraphraser:
    """One annotator's wordings: each entity is named the same way across a clip's events.

    Annotator 0 writes the corpus' canonical text (``events.arg*``, ``events.place``); other
    annotators re-word characters from their attributes (size, colour and shape synonyms,
    determiner, word order) and scenes with a preposition or determiner.

    Args:
        characters: the movie's characters by id.
        rng: the annotator's random generator (seeded per clip and annotator).
        canonical: keep the corpus' text unchanged (annotator 0).
    """

    def __init__(
        self, characters: dict[str, Character], rng: np.random.Generator, *, canonical: bool
    ) -> None:
        self.characters = characters
        self.rng = rng
        self.canonical = canonical
        self._memo: dict[str, str] = {}

    def entity(self, character_id: str | None, text: str) -> str:
        """How this annotator names a role filler (a character, or an object given as text)."""
        key = character_id or f"text:{text}"
        if key not in self._memo:
            character = self.characters.get(character_id or "")
            if self.canonical:
                self._memo[key] = text
            elif character is None:
                self._memo[key] = self._pick(TEXT_WORDS.get(text, (text,)))
            else:
                self._memo[key] = self._describe(character)
        return self._memo[key]

    def scene(self, place: str) -> str:
        """How this annotator writes the "Scene of the Event" of ``place``."""
        key = f"place:{place}"
        if key not in self._memo:
            words = place_text(place)
            forms = (words, f"the {words}", f"in the {words}", f"{_article(words)} {words}")
            self._memo[key] = words if self.canonical else str(self._pick(forms))
        return self._memo[key]

    def _describe(self, character: Character) -> str:
        size = self._pick(SIZE_WORDS.get(character.size, (character.size,)))
        color = self._pick(COLOR_WORDS.get(character.color, (character.color,)))
        shape = self._pick(SHAPE_WORDS.get(character.shape, (character.shape,)))
        form = int(self.rng.integers(3))
        if form == 0:
            return f"the {size} {color} {shape}"
        if form == 1:
            return f"{_article(size)} {size} {color} {shape}"
        return f"{size} {color} {shape}"

    def _pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]
