"""Category names, actions and image kinds of the content policy."""

from __future__ import annotations

SEXUAL = "sexual"
SEXUAL_MINORS = "sexual/minors"
VIOLENCE = "violence/graphic"
HATE = "hate"
HARASSMENT = "harassment"
SELF_HARM = "self-harm"
ILLEGAL = "illegal"
PUBLIC_FIGURES = "public-figures"
INFRINGEMENT = (
    "infringement"  # copyrighted characters and franchises, trademarks and logos, living artists' styles
)
FACES = "faces"

# Text categories in severity order: when several fire, the first one names the decision.
TEXT_CATEGORIES: tuple[str, ...] = (
    SEXUAL_MINORS,
    SEXUAL,
    VIOLENCE,
    SELF_HARM,
    HATE,
    HARASSMENT,
    ILLEGAL,
    PUBLIC_FIGURES,
    INFRINGEMENT,
)
# Categories with an image detector: nudity (NudeNet) counts as sexual; faces (OpenCV Haar cascade).
IMAGE_CATEGORIES: tuple[str, ...] = (SEXUAL, FACES)
ALL_CATEGORIES: tuple[str, ...] = TEXT_CATEGORIES + (FACES,)

REFUSE = "refuse"
FLAG = "flag"
ALLOW = "allow"
ACTIONS: tuple[str, ...] = (REFUSE, FLAG, ALLOW)

PROMPT = "prompt"
UPLOAD = "upload"
OUTPUT = "output"
IMAGE_KINDS: tuple[str, ...] = (UPLOAD, OUTPUT)

# Term-list file (under data/terms/) of each text category.
TERM_FILES: dict[str, str] = {
    SEXUAL: "sexual.txt",
    SEXUAL_MINORS: "sexual_minors.txt",
    VIOLENCE: "violence_graphic.txt",
    HATE: "hate.txt",
    HARASSMENT: "harassment.txt",
    SELF_HARM: "self_harm.txt",
    ILLEGAL: "illegal.txt",
    PUBLIC_FIGURES: "public_figures.txt",
    INFRINGEMENT: "infringement.txt",
}
# Internal context lists: not policy categories, they modify scores (see prompt_check.py).
MINOR_CONTEXT = "_minor"
TARGET_CONTEXT = "_target"
CONTEXT_FILES: dict[str, str] = {MINOR_CONTEXT: "minors.txt", TARGET_CONTEXT: "targets.txt"}


def severity(category: str | None) -> int:
    """Position in severity order (lower is more severe); unknown or None sorts last."""
    order = TEXT_CATEGORIES + (FACES,)
    return order.index(category) if category in order else len(order)
