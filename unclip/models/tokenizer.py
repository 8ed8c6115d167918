"""CLIP's byte-level BPE tokenizer: train a vocabulary on captions, save it, load it.

No tokenizer files can be downloaded here, so unclip trains its own BPE with CLIP's exact text
normalisation (NFC, whitespace folding, lowercase), pre-tokenisation and "</w>" end-of-word suffix,
and stores it as the `vocab.json` + `merges.txt` pair that transformers' `CLIPTokenizer` reads. Every
byte and every byte-at-word-end is in the vocabulary, so any text encodes without unknown tokens.
A real CLIP vocabulary (e.g. Karlo's ViT-L/14 tokenizer directory) loads through the same path.

`ClipTokenizer` is the `tokenizers` pipeline transformers' `CLIPTokenizer` builds (the same normaliser,
pre-tokeniser, BPE and special tokens: the same ids, tests compare), without importing transformers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from unclip.errors import InputError, ModelFormatError
from unclip.utils.checks import unpaired_surrogate

if TYPE_CHECKING:
    from tokenizers import Tokenizer

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


class ClipTokenizer:
    """CLIP's BPE tokenizer over a vocabulary and its merges: BOS + tokens + EOS, padded with EOS."""

    def __init__(
        self, vocab: dict[str, int], merges: list[tuple[str, str]], model_max_length: int = 77
    ) -> None:
        from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
        from tokenizers.models import BPE

        self.vocab = dict(vocab)
        self.merges = list(merges)
        self.model_max_length = model_max_length
        self.bos_token_id = self.vocab[BOS]
        self.eos_token_id = self.vocab[EOS]
        self.pad_token_id = self.eos_token_id  # CLIP pads with the end token
        self.unk_token_id = self.eos_token_id
        tok = Tokenizer(
            BPE(
                vocab=self.vocab,
                merges=self.merges,
                continuing_subword_prefix="",
                end_of_word_suffix="</w>",
                fuse_unk=False,
                unk_token=EOS,
            )
        )
        tok.normalizer = normalizers.Sequence(
            [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
        )
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_SPLIT), behavior="removed", invert=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False),
            ]
        )
        tok.decoder = decoders.ByteLevel()
        tok.add_special_tokens([BOS, EOS])
        tok.post_processor = processors.RobertaProcessing(
            (EOS, self.eos_token_id), (BOS, self.bos_token_id), trim_offsets=False, add_prefix_space=False
        )
        self.backend_tokenizer: Tokenizer = tok
        self._lock = threading.Lock()  # truncation and padding are settings of the shared backend

    # copied and pickled (data-loading workers) as what defines it; the backend is rebuilt from that
    def __getstate__(self) -> dict[str, object]:
        return {"vocab": self.vocab, "merges": self.merges, "model_max_length": self.model_max_length}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["vocab"], state["merges"], state["model_max_length"])  # type: ignore[misc]

    def __len__(self) -> int:
        return self.backend_tokenizer.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Each text's ids, BOS and EOS included, neither padded nor truncated."""
        with self._lock:
            self.backend_tokenizer.no_truncation()
            self.backend_tokenizer.no_padding()
            return [e.ids for e in self.backend_tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str], max_length: int) -> Tokens:
        """Exactly `max_length` ids per text: truncated keeping the final EOS, padded with EOS."""
        tok = self.backend_tokenizer
        with self._lock:
            tok.enable_truncation(max_length=max_length)
            tok.enable_padding(length=max_length, pad_id=self.pad_token_id, pad_token=EOS)
            encodings = tok.encode_batch(texts)
        return Tokens(
            ids=torch.tensor([e.ids for e in encodings], dtype=torch.long),
            mask=torch.tensor([e.attention_mask for e in encodings], dtype=torch.bool),
        )

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        text = self.backend_tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)
        return text.replace("</w>", " ").strip()


def _byte_alphabet() -> list[str]:
    from tokenizers import pre_tokenizers

    return sorted(pre_tokenizers.ByteLevel.alphabet())


def train_tokenizer(
    texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2, max_length: int = 77
) -> ClipTokenizer:
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
    return ClipTokenizer(vocab, kept, max_length)


def save_tokenizer(tokenizer: ClipTokenizer, directory: str | Path) -> None:
    """Write `vocab.json`, `merges.txt` and `tokenizer_config.json` into `directory` (transformers'
    `CLIPTokenizer` reads them too)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    merges = [" ".join(m) for m in tokenizer.merges]
    (directory / "vocab.json").write_text(json.dumps(tokenizer.vocab, ensure_ascii=False))
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    (directory / "tokenizer_config.json").write_text(
        json.dumps(
            {"tokenizer_class": "CLIPTokenizer", "model_max_length": tokenizer.model_max_length}, indent=2
        )
    )


def load_tokenizer(directory: str | Path, max_length: int | None = None) -> ClipTokenizer:
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
    return ClipTokenizer(vocab, merges, max_length if max_length is not None else 77)


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


def tokenize(tokenizer: ClipTokenizer, prompts: list[str], max_length: int) -> Tokens:
    """Tokenise to exactly `max_length` tokens (pad with EOS, truncate keeping the final EOS)."""
    check_unicode(prompts)
    return tokenizer.encode(prompts, max_length)
