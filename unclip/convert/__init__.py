"""Converters from third-party checkpoints into unclip model directories.

`unclip convert karlo SRC OUT` (see :mod:`unclip.convert.karlo` and docs/KARLO.md) reads kakaobrain's
Karlo in diffusers layout. One module per component mapping: :mod:`.prior`, :mod:`.decoder`,
:mod:`.upsampler`, :mod:`.clip`, :mod:`.scheduler`, all built on :mod:`.unet` and the strict helpers
of :mod:`.mapping`; :mod:`.source` reads the directory.
"""

from unclip.convert.karlo import KARLO_SAMPLING, ConversionReport, convert_karlo, convert_karlo_dir
from unclip.convert.source import DiffusersDir, KarloSource, MemorySource

__all__ = [
    "KARLO_SAMPLING",
    "ConversionReport",
    "DiffusersDir",
    "KarloSource",
    "MemorySource",
    "convert_karlo",
    "convert_karlo_dir",
]
