"""The supervised baseline: the backbone trained to classify clips (the paper's "Sup" rows).

Hierarchical-SSL compares its self-supervised backbones with Slow-D trained with class
labels ("Sup-K400": Kinetics-400 action classes; Tables 1, 3-5). Here the labels are
whatever the data source provides: Kinetics-style classes, catalog genres, or the verbs
of annotated events. Loss: cross-entropy of a dropout + linear head on the pooled clip
feature (SlowFast's classification head, dropout 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from movierep.models.heads import ClassifierHead
from movierep.pretrain.cvrl import feature_dim


@dataclass(frozen=True)
class SupervisedConfig:
    """Supervised baseline settings.

    Attributes:
        labels: which labels to learn: ``class`` (Kinetics-style folder), ``genre``
            (catalog), ``verb`` or ``place`` (annotated events of a corpus), or ``auto``
            (``class`` for Kinetics data, ``verb`` for a corpus).
        dropout: dropout before the linear classifier.
    """

    labels: str = "auto"
    dropout: float = 0.5


class Supervised(nn.Module):
    """Cross-entropy training of a clip backbone with a linear classifier.

    Args:
        backbone: clips (B, C, T, H, W) -> features (B, D); has ``feature_dim``.
        num_classes: number of classes.
        cfg: the classifier's dropout (:class:`SupervisedConfig`).
    """

    def __init__(
        self, backbone: nn.Module, num_classes: int, cfg: SupervisedConfig = SupervisedConfig()
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = backbone
        self.classifier = ClassifierHead(feature_dim(backbone), num_classes, dropout=cfg.dropout)

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Cross-entropy of ``clip`` (B, C, T, H, W) against ``label`` (B,) int64.

        Returns:
            ``loss`` (mean cross-entropy) and ``acc`` (top-1 accuracy on the batch).
        """
        logits = self.classifier(self.backbone(batch["clip"]))
        labels = batch["label"]
        return {
            "loss": F.cross_entropy(logits.float(), labels),
            "acc": (logits.detach().argmax(dim=1) == labels).float().mean(),
        }
