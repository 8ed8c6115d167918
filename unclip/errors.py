"""User-facing errors. The CLI prints these without a traceback; the server maps them to 400s."""


class UnclipError(Exception):
    """Base class for errors caused by bad input, bad files or bad settings (not by bugs)."""


class ModelFormatError(UnclipError):
    """A model directory is missing a file, has a truncated or mismatched file, or a bad config."""


class InputError(UnclipError):
    """An input image, mask, prompt or parameter is invalid; the message says which and why."""


class UnknownSettingError(InputError, TypeError):
    """A keyword setting that does not exist (a typo such as `decoder_stepz`). Also a TypeError, which
    is what Python raises for an unexpected keyword argument."""
