"""How big one demo run is: the corpus, every training's steps, every head's runs.

``demo`` (the default, ``make demo``) is sized to finish in 15 minutes on 2 CPU cores;
``tiny`` runs every stage on a 4-movie corpus in CI. Neither is the papers' scale: the
``paper`` profiles of the recipes are (``movierep train ... --profile paper``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoPreset:
    """Sizes of one demo run.

    Attributes:
        corpus: the corpus preset (:data:`movierep.corpus.presets.PRESETS`) and overrides.
        shot_detector: ``transnetv2`` or ``scenedetect`` (PySceneDetect's fast path).
        backbone_steps: steps of each backbone recipe (``cvrl``, ``modist``, ``supervised``).
        txe_steps: TxE mask-prediction steps.
        image_steps: E_fixed (the image encoder standing in for CLIP) SimCLR steps.
        moviesim_steps: shot-adjacency (movie-similarity) steps per similarity source.
        scene_steps: scene MoCo steps per similarity source.
        sources: the movie-similarity sources of Movies2Scenes Tables 2-6.
        runs: seeded runs of each head, per protocol.
        srl_steps: TxD steps per run (roles).
        ot_epochs: Object Transformer epochs per run.
        ot_pretrain_steps: masked-instance pretraining steps (OT's instance pretraining).
        ablation_txe_steps: TxE steps of each hier-SSL Table 2 variant (``--ablations``).
        sources: the movie-similarity sources (Movies2Scenes Tables 2-6).
        workers: processes rendering the corpus.
        sets: per recipe, ``--set`` overrides (the tiny corpus needs smaller batches).
        head_steps: Adam steps of every task head (None: each protocol's own).
        pretrain_seeds: pretraining seeds per kind (``txe``: TxE mask prediction and its
            untrained twin; ``scene``: shot adjacency + scene MoCo per source): the rows a
            finding compares are measured over these seeds, so its verdict can use the
            spread that matters (:mod:`movierep.demo.verdicts`, rule 6). A kind not named
            trains once; ``kind:name`` (``scene:cowatch``) sets one source's count. Rows
            measured over several pretraining seeds train one head run per seed (the
            seeds' spread contains the heads').
        lvu_ot: run LVU with the Object Transformer (hier-SSL Table 5: instance features
            and ``lvu-ot``); ``--ablations`` runs it whatever this says.
    """

    corpus: dict[str, object]
    shot_detector: str
    backbone_steps: dict[str, int]
    txe_steps: int
    image_steps: int
    moviesim_steps: int
    scene_steps: int
    runs: dict[str, int]
    srl_steps: int
    ot_epochs: float
    ot_pretrain_steps: int
    ablation_txe_steps: int
    sources: tuple[str, ...] = ("cowatch", "genre", "synopsis")
    workers: int = 2
    sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    head_steps: int | None = None
    pretrain_seeds: dict[str, int] = field(default_factory=dict)
    lvu_ot: bool = True

    def seeds(self, kind: str, name: str = "") -> int:
        """Pretraining seeds of ``kind`` (``backbone``, ``txe``, ``scene``...; 1 if unset).

        ``name`` narrows it (``seeds("scene", "cowatch")`` reads ``"scene:cowatch"`` first).
        """
        n = self.pretrain_seeds.get(f"{kind}:{name}") if name else None
        return max(1, n if n is not None else self.pretrain_seeds.get(kind, 1))

    def overrides(self, recipe: str) -> tuple[str, ...]:
        """Extra ``--set`` overrides of one recipe (``image``, ``moviesim``, ``scenes``...)."""
        return self.sets.get(recipe, ())


PRESETS: dict[str, DemoPreset] = {
    "tiny": DemoPreset(
        corpus={"preset": "tiny", "movies": 12, "minutes": 0.3},
        shot_detector="scenedetect",
        backbone_steps={"cvrl": 6, "modist": 6, "supervised": 6},
        txe_steps=40,
        image_steps=6,
        moviesim_steps=6,
        scene_steps=4,
        runs={"vidsitu": 2, "srl": 2, "lvu": 2, "ot": 2, "movienet": 2, "moderation": 2},
        srl_steps=20,
        ot_epochs=0.5,
        ot_pretrain_steps=4,
        ablation_txe_steps=20,
        head_steps=40,
        pretrain_seeds={"txe": 2, "scene:cowatch": 2},
        sets={
            "image": ("train.batch_size=16",),
            "moviesim": (
                "train.batch_size=4",
                "pairs.k=1",
                "net.scene_kernel=2",
                "net.scene_stride=1",
            ),
            "scenes": ("train.batch_size=2", "moco.queue_size=16"),
            "txe": ("train.batch_size=4",),
        },
    ),
    # 15 minutes on 2 CPU cores, most of it pretraining: the backbones, three TxE seeds
    # (MaskPred and its untrained twin) and two co-watch scene encoders, so that the
    # comparisons of TxE pretrainings and of E_scene against E_fixed have the seed spread
    # they need (genre and synopsis train once: the source ranking stays undecided); the
    # evaluations score every held-out video, one head run per seed.
    # LVU with the Object Transformer (Table 5) compares backbones, which train once here
    # (nothing there can be decided), so it runs with --ablations only.
    "demo": DemoPreset(
        corpus={"preset": "demo", "movies": 60, "minutes": 0.5},
        shot_detector="scenedetect",
        backbone_steps={"cvrl": 180, "modist": 70, "supervised": 100},
        txe_steps=180,
        image_steps=70,
        moviesim_steps=120,
        scene_steps=40,
        runs={"vidsitu": 5, "srl": 2, "lvu": 2, "ot": 2, "movienet": 2, "moderation": 3},
        srl_steps=40,
        ot_epochs=1.0,
        ot_pretrain_steps=30,
        ablation_txe_steps=200,
        head_steps=100,
        sets={
            "image": ("train.batch_size=32",),
            # P_scene holds ~120 co-watch pairs (1.3 per movie pair): a queue of 8 batches
            # (96 keys, full after 8 of 40 steps) stays shorter than an epoch, so a query's
            # own pair is rarely among its negatives
            "scenes": ("train.batch_size=12", "moco.queue_size=96", "train.log_every=4"),
        },
        pretrain_seeds={"txe": 3, "scene:cowatch": 2},
        lvu_ot=False,
    ),
}
