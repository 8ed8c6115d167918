"""The independent judge: an emoji-concept classifier trained on real emoji, never on generated pictures
and not the model's CLIP, so that `unclip eval` can say whether a picture shows what was asked."""

from unclip.evaluation.judge.judge import DEFAULT_JUDGE, Judge, JudgeScores
from unclip.evaluation.judge.model import JudgeConfig, JudgeNet

__all__ = ["DEFAULT_JUDGE", "Judge", "JudgeConfig", "JudgeNet", "JudgeScores"]
