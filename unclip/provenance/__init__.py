"""Provenance of unclip's images: an invisible watermark, an optional visible signature (DALL-E 2's five
coloured squares) and a signed C2PA manifest on every PNG unclip writes, and `verify` to read them back.

    from unclip.provenance import Provenance, verify_file
    Provenance().save(image, "out.png")          # marks and signs with the local key (generated on first use)
    print(verify_file("out.png").describe())     # manifest valid / tampered / absent, watermark present or not

Knows nothing of the networks or HTTP; see docs/SAFETY.md ("Provenance").
"""

from unclip.provenance.errors import ProvenanceError
from unclip.provenance.keys import SigningKey, load_key, local_key
from unclip.provenance.marker import Provenance
from unclip.provenance.origin import Origin, attach, origin_of
from unclip.provenance.verify import VerifyReport, verify_bytes, verify_file

__all__ = [
    "Origin",
    "Provenance",
    "ProvenanceError",
    "SigningKey",
    "VerifyReport",
    "attach",
    "load_key",
    "local_key",
    "origin_of",
    "verify_bytes",
    "verify_file",
]
