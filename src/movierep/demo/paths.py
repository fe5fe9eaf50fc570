"""Where a demo run keeps each stage's output: every folder and file under ``OUT`` (:class:`Paths`).

Every stage of the demo reads its inputs and writes its outputs through one :class:`Paths`
of the run folder, so a stage's files are named in one place.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Paths:
    """Where a demo run keeps each stage's output."""

    out: Path

    @property
    def corpus(self) -> Path:
        """The synthetic corpus."""
        return self.out / "corpus"

    @property
    def frame_cache(self) -> Path:
        """The run's decoded-frame cache (every video decoded once for every stage)."""
        return self.out / "cache" / "frames"

    @property
    def shots(self) -> Path:
        """The movies' shots folder (``movierep ingest shots``)."""
        return self.out / "shots"

    def backbone(self, name: str) -> Path:
        """The checkpoint of backbone ``name`` (``random`` has no training run)."""
        root = self.out / "backbones" / name
        return root if name == "random" else root / "last"

    def txe(self, backbone: str, trained: bool = True, seed: int = 0) -> Path:
        """TxE pretrained by mask prediction on ``backbone``'s features, or untrained (N).

        The untrained TxE ("N") is one random initialisation of the TxE architecture,
        shared by every backbone (their features have the same width). ``seed``: the
        pretraining seed's index (0: the run's seed; more with ``pretrain_seeds["txe"]``).
        """
        tag = "" if seed == 0 else f"_s{seed}"
        return self.out / "txe" / (f"{backbone}{tag}/last" if trained else f"untrained{tag}")

    def events(self, backbone: str) -> Path:
        """The movies' event features of ``backbone`` (``context_feature``: TxE's)."""
        return self.out / "features" / f"events_{backbone}.parquet"

    @property
    def lvu(self) -> Path:
        """The corpus' LVU export."""
        return self.corpus / "lvu"
