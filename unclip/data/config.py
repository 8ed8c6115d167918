"""Where the training images and captions come from (the `[data]` section of a training config)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from unclip.data.folder import index_folder
from unclip.data.manifest import index_manifest
from unclip.data.records import DataError
from unclip.data.shards import TarShardSource, default_index_cache, list_shards
from unclip.data.source import ImageTextSource, is_url
from unclip.utils.config import Config, ConfigError

FORMATS = ("auto", "folder", "shards", "manifest")
MANIFEST_SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson")


@dataclass
class DataConfig(Config):
    """The training data: one of three formats, read through the same interface."""

    source: str = ""  # folder of images + .txt captions, tar shard(s) (path/URL/{00..09} range/glob), or a manifest (.csv/.parquet/.jsonl); a folder holding metadata.jsonl (`unclip data` output) is read as that manifest
    format: str = "auto"  # "auto" | "folder" | "shards" | "manifest"
    image_column: str = ""  # manifest column with the image path or URL ("": file, image, path, url, ...)
    caption_column: str = ""  # manifest column with the caption ("": caption, text, prompt, title)
    split: str = "train"  # manifests with a `split` column: keep only these rows ("" keeps all)
    min_image_size: int = 0  # skip images whose short side is smaller (0: the stage's own minimum)
    embeddings: str = ""  # folder written by `unclip embed` (precomputed CLIP embeddings); "": compute on the fly
    num_workers: int = 2  # DataLoader worker processes per training process (0: load in the main process)
    index_cache: str = ""  # where shard offset indexes are cached ("": $UNCLIP_CACHE/shard-index, ~/.cache/unclip)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(f"format must be one of {list(FORMATS)}, got {self.format!r}")
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0, got {self.num_workers}")
        if self.min_image_size < 0:
            raise ConfigError(f"min_image_size must be >= 0, got {self.min_image_size}")


def detect_format(source: str) -> str:
    lower = source.lower()
    if lower.endswith(".tar") or "{" in source:
        return "shards"
    if lower.endswith(MANIFEST_SUFFIXES):
        return "manifest"
    if not is_url(source) and Path(source).is_dir():
        if (Path(source) / "metadata.jsonl").is_file():
            return "manifest"
        if any(Path(source).glob("*.tar")):
            return "shards"
        return "folder"
    if not is_url(source) and not Path(source).exists():
        raise DataError(f"{source}: dataset not found")
    raise DataError(f"{source}: cannot tell the dataset format; set data.format to folder, shards or manifest")


def open_source(config: DataConfig) -> ImageTextSource:
    """Index the dataset named by `config` (fails with :class:`DataError` if it has no usable record)."""
    if not config.source:
        raise DataError("data.source is empty: name a folder, tar shards or a manifest")
    kind = config.format if config.format != "auto" else detect_format(config.source)
    if kind == "folder":
        source: ImageTextSource = index_folder(config.source)
    elif kind == "manifest":
        path = config.source
        if not is_url(path) and Path(path).is_dir():
            path = str(Path(path) / "metadata.jsonl")
        source = index_manifest(path, config.image_column or None, config.caption_column or None, config.split or None)
    else:
        if not list_shards(config.source):
            raise DataError(f"{config.source}: no tar shards found")
        cache = Path(config.index_cache) if config.index_cache else default_index_cache()
        source = TarShardSource(config.source, cache)
    if len(source) == 0:
        raise DataError(f"{config.source}: no usable image-caption records (skipped: {source.skipped.summary()})")
    return source
