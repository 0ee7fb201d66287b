"""Deterministic generator of mail-server logs with planted loops: the ground truth imsdiag is tested against."""

from __future__ import annotations

__all__: list[str] = []
