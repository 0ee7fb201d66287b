"""Writer for IMS message archive files (Imcdata\\In\\Archive and Out\\Archive): ImCr..EwLs envelope + RFC 822."""

from __future__ import annotations

import random

_HEAD = b"\xf7\x00\x00\x00ImCr"
_TAIL = b"EwLs"


def _binary(rng: random.Random, n: int) -> bytes:
    # High-half bytes and NULs only, so nothing binary can be mistaken for a host, `<address>` or marker.
    return bytes(rng.choice((0, 0xA0, 0xD8, 0xFA, 0xE9, 0xBC, 0x88, 0x9B, 0xC4)) for _ in range(n))


def archive_file(
    rng: random.Random, peer_host: str, sender: str, mts_id: str, recipients: tuple[str, ...], message: str
) -> bytes:
    """The bytes of one archive file; `sender` is '' for the null reverse path (written `<>`)."""
    parts = [_HEAD, _binary(rng, 8), peer_host.encode("ascii"), b"\x00"]
    parts += [f"<{sender}>".encode("ascii"), b"\x00", mts_id.encode("ascii"), b"\x00", _binary(rng, 6)]
    for rcpt in recipients:
        parts += [f"<{rcpt}>".encode("ascii"), b"\x00"]
    parts += [_binary(rng, 4), _TAIL, message.encode("latin-1")]
    return b"".join(parts)
