"""CLIP's byte-level BPE tokenizer: train a vocabulary on captions, save it, load it.

No tokenizer files can be downloaded here, so unclip trains its own BPE with CLIP's exact text
normalisation (NFC, whitespace folding, lowercase), pre-tokenisation and "</w>" end-of-word suffix,
and stores it as the `vocab.json` + `merges.txt` pair that transformers' `CLIPTokenizer` reads. Every
byte and every byte-at-word-end is in the vocabulary, so any text encodes without unknown tokens.
A real CLIP vocabulary (e.g. Karlo's ViT-L/14 tokenizer directory) loads through the same path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from unclip.errors import InputError, ModelFormatError
from unclip.utils.checks import unpaired_surrogate

if TYPE_CHECKING:
    from transformers import CLIPTokenizer

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def _byte_alphabet() -> list[str]:
    from tokenizers import pre_tokenizers

    return sorted(pre_tokenizers.ByteLevel.alphabet())


def train_tokenizer(
    texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2, max_length: int = 77
) -> CLIPTokenizer:
    """Train a CLIP-compatible BPE tokenizer on `texts`; `vocab_size` includes the 512 byte tokens."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, trainers
    from tokenizers.models import BPE

    alphabet = _byte_alphabet()
    tok = Tokenizer(BPE(unk_token=None, end_of_word_suffix="</w>", continuing_subword_prefix=""))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=max(vocab_size - 2, len(alphabet) * 2 + 1),
        min_frequency=min_frequency,
        initial_alphabet=alphabet,
        end_of_word_suffix="</w>",
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    from transformers import CLIPTokenizer

    merges = [
        tuple(m) if isinstance(m, list) else tuple(m.split(" "))
        for m in json.loads(tok.to_str())["model"]["merges"]
    ]

    vocab: dict[str, int] = {}
    for sym in alphabet + [a + "</w>" for a in alphabet]:
        vocab.setdefault(sym, len(vocab))
    kept: list[tuple[str, str]] = []
    for a, b in merges:
        if a in vocab and b in vocab:
            vocab.setdefault(a + b, len(vocab))
            kept.append((a, b))
    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=kept)  # type: ignore[arg-type]  # pairs work; the stubs say strings
    tokenizer.model_max_length = max_length
    return tokenizer


def save_tokenizer(tokenizer: CLIPTokenizer, directory: str | Path) -> None:
    """Write `vocab.json`, `merges.txt` and `tokenizer_config.json` into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    vocab = model["vocab"]
    merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    (directory / "tokenizer_config.json").write_text(
        json.dumps(
            {"tokenizer_class": "CLIPTokenizer", "model_max_length": tokenizer.model_max_length}, indent=2
        )
    )


def load_tokenizer(directory: str | Path, max_length: int | None = None) -> CLIPTokenizer:
    """Load a CLIP tokenizer from `vocab.json` + `merges.txt` (unclip's or a real CLIP's)."""
    directory = Path(directory)
    for name in ("vocab.json", "merges.txt"):
        if not (directory / name).is_file():
            raise ModelFormatError(f"{directory / name}: tokenizer file missing")
    try:
        vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFormatError(f"{directory / 'vocab.json'}: not valid JSON ({e})") from e
    lines = (directory / "merges.txt").read_text(encoding="utf-8").splitlines()
    pairs = [ln.split(" ") for ln in lines if ln and not ln.startswith("#version")]
    bad = [p for p in pairs if len(p) != 2]
    if bad:
        raise ModelFormatError(f"{directory / 'merges.txt'}: malformed merge line {' '.join(bad[0])!r}")
    merges = [(a, b) for a, b in pairs]
    for special in (BOS, EOS):
        if special not in vocab:
            raise ModelFormatError(f"{directory / 'vocab.json'}: special token {special} missing")
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer(vocab=vocab, merges=merges)  # type: ignore[arg-type]  # pairs work; the stubs say strings
    if max_length is not None:
        tok.model_max_length = max_length
    return tok


@dataclass
class Tokens:
    ids: torch.Tensor  # [B, L] long
    mask: torch.Tensor  # [B, L] bool, True for real tokens (BOS ... EOS)


def check_unicode(prompts: list[str]) -> None:
    """Each prompt must be encodable text: a lone surrogate (e.g. from bytes decoded with
    "surrogateescape") is not, and the tokenizer library would fail on it with a TypeError."""
    for prompt in prompts:
        at = unpaired_surrogate(prompt)
        if at is not None:
            raise InputError(
                f"prompt is not valid Unicode text (unpaired surrogate {prompt[at]!a} at character {at}): "
                f"{ascii(prompt)[:60]}"
            )


def tokenize(tokenizer: CLIPTokenizer, prompts: list[str], max_length: int) -> Tokens:
    """Tokenise to exactly `max_length` tokens (pad with EOS, truncate keeping the final EOS)."""
    check_unicode(prompts)
    enc = tokenizer(
        prompts, padding="max_length", max_length=max_length, truncation=True, return_tensors="pt"
    )
    return Tokens(ids=enc["input_ids"], mask=enc["attention_mask"].bool())
