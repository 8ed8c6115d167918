"""Evaluation of a cascade: CLIP retrieval accuracy and FID in CLIP image-embedding space."""

from unclip.evaluation.evaluate import EvalReport, evaluate
from unclip.evaluation.metrics import frechet_distance, retrieval_accuracy

__all__ = ["EvalReport", "evaluate", "frechet_distance", "retrieval_accuracy"]
