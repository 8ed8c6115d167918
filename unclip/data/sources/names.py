"""The names `unclip data` accepts: emoji styles, clip-art and photo sources. Apart from the builders so
that the CLI's argument parser can list them without importing the builders (and PIL, multiprocessing,
XML and the source modules with them)."""

EMOJI_STYLES = ("google", "twitter", "noto", "fluent")  # the default model's training styles
# More styles, for the independent judge (unclip/evaluation/judge): two it trains on, and OpenMoji
# (CC-BY-SA: never for shipped model weights), the style it is tested on and never sees in training.
EXTRA_EMOJI_STYLES = ("fluent-flat", "emojione", "openmoji")
CLIPART_SOURCES = ("fluent", "openclipart")
CLIPART_SIZES = (256, 1024)
PHOTO_SOURCES = ("backgrounds", "tuxpaint")
