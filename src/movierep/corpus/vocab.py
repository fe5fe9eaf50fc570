"""The corpus's class vocabularies: every label set a stage or benchmark export can ask for.

All names are lower-case without spaces (LVU requires class names without spaces). The
lists are ordered: a class index is its position here, and ``corpus.json`` stores them.
"""

from __future__ import annotations

#: Place classes: each one is a procedural setting drawn by :mod:`.places`. The first
#: six are LVU's scene classes.
PLACES: tuple[str, ...] = (
    "office",
    "airport",
    "school",
    "hotel",
    "prison",
    "restaurant",
    "forest",
    "beach",
    "street",
    "kitchen",
    "library",
    "hospital",
    "church",
    "warehouse",
    "park",
    "spaceship",
)

#: Motion verbs of the 2 s events (choreographies in :mod:`.motion`).
VERBS: tuple[str, ...] = (
    "walk",
    "run",
    "jump",
    "spin",
    "fall",
    "approach",
    "flee",
    "chase",
    "hit",
    "push",
    "wave",
    "talk",
    "grow",
    "shrink",
    "shake",
    "sit",
    "embrace",
    "kiss",
    "smoke",
)

#: Verbs whose event has a patient (Arg1) that is another character.
TRANSITIVE: frozenset[str] = frozenset(
    {"approach", "flee", "chase", "hit", "push", "wave", "talk", "embrace", "kiss"}
)

#: VidSitu's event-relation strings (``src Causes dst``, ``dst is a Reaction To src``,
#: ``src Enables dst``). Pairs of events without a link are ``NoRel`` in the exports.
RELATIONS: tuple[str, ...] = ("Causes", "Reaction To", "Enables")

GENRES: tuple[str, ...] = ("action", "comedy", "drama", "horror", "romance", "scifi", "thriller")

#: LVU's relationship classes (of the two lead characters of a movie).
RELATIONSHIPS: tuple[str, ...] = (
    "friend",
    "ex_boyfriend_ex_girlfriend",
    "husband_wife",
    "boyfriend_girlfriend",
)

#: LVU's way-of-speaking classes, per scene; ``none`` marks a scene without a talk event.
WAYS_SPEAKING: tuple[str, ...] = ("explains", "confronts", "discuss", "teaches", "threatens")
NO_TALK = "none"

#: Clip-level moderation labels (Movies2Scenes's four-way task, tasteful stand-ins).
MODERATION: tuple[str, ...] = ("violence", "intimacy", "drug_use", "none")
MODERATION_VERBS: dict[str, frozenset[str]] = {
    "violence": frozenset({"hit", "push"}),
    "intimacy": frozenset({"embrace", "kiss"}),
    "drug_use": frozenset({"smoke"}),
}

SHAPES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "diamond",
    "pentagon",
    "hexagon",
    "star",
    "cross",
)
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (214, 48, 49),
    "blue": (45, 98, 214),
    "green": (46, 170, 80),
    "yellow": (240, 206, 40),
    "purple": (142, 68, 173),
    "orange": (240, 130, 30),
    "white": (236, 236, 236),
    "pink": (240, 120, 180),
    "cyan": (40, 200, 215),
    "brown": (130, 84, 48),
}
#: Character sizes: radius as a fraction of the world's height.
SIZES: dict[str, float] = {"small": 0.085, "medium": 0.105, "large": 0.125}

#: Decades of the ``year`` column (LVU's year task predicts the decade).
DECADES: tuple[int, ...] = (1930, 1940, 1950, 1960, 1970, 1980, 1990, 2000, 2010)

#: Camera framings of a shot and their zoom (world width / visible width) ranges.
FRAMINGS: dict[str, tuple[float, float]] = {
    "wide": (1.4, 1.7),
    "medium": (2.0, 2.4),
    "close": (2.7, 3.2),
}

TRANSITIONS: tuple[str, ...] = ("cut", "dissolve", "fade")

SPLITS: tuple[str, ...] = ("train", "val", "test")


def vocabularies() -> dict[str, list[str]]:
    """All class lists by name, as written to ``corpus.json``."""
    return {
        "places": list(PLACES),
        "verbs": list(VERBS),
        "relations": list(RELATIONS),
        "genres": list(GENRES),
        "relationships": list(RELATIONSHIPS),
        "ways_speaking": list(WAYS_SPEAKING),
        "moderation": list(MODERATION),
        "shapes": list(SHAPES),
        "colors": list(COLORS),
        "sizes": list(SIZES),
        "decades": [str(d) for d in DECADES],
        "framings": list(FRAMINGS),
        "transitions": list(TRANSITIONS),
    }
