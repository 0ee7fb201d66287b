"""The loop detector: cross-message repetition, Received-chain cycles, explicit loop evidence."""

from __future__ import annotations

from ..evidence import Evidence
from ..models import Loop
from .chains import detect_chain_loops
from .crossmessage import detect_null_sender_loops
from .explicit import detect_auto_reply_volleys, detect_explicit


def detect(corr: Evidence, min_passes: int, window_seconds: float) -> list[Loop]:
    """Every loop the evidence shows, before any rule names a cause."""
    loops: list[Loop] = []
    loops += detect_null_sender_loops(corr, min_passes, window_seconds)
    loops += detect_chain_loops(corr, min_passes)
    loops += detect_explicit(corr, window_seconds)
    loops += detect_auto_reply_volleys(corr, min_passes, window_seconds)
    return loops


__all__ = ["detect"]
