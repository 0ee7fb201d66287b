"""imsdiag: find and explain mail loops in mail server logs and archived messages."""

from __future__ import annotations

__version__ = "0.1.0"
