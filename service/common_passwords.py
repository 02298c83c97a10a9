"""Whether a password is one of the ~20,000 most common ones (service/data/, with its licence)."""

from __future__ import annotations

import functools
import gzip
import importlib.resources


@functools.cache
def _listed() -> frozenset[str]:
    """Read once, on first use: some 20,000 short strings, a few hundred kilobytes."""
    data = importlib.resources.files("service").joinpath("data/common-passwords.txt.gz")
    text = gzip.decompress(data.read_bytes()).decode("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def is_common(password: str) -> bool:
    """Compared case-insensitively: the list is lower-case, and "Password123" is as weak."""
    return password.strip().casefold() in _listed()
