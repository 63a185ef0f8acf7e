"""QR codes of deep links (issue 13), as SVG or PNG, with segno."""

from __future__ import annotations

import io

import segno
from fastapi import Response

MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def qr_bytes(text: str, fmt: str) -> bytes:
    """``text`` as a QR code (error correction M, 4-module quiet zone) in ``fmt`` (svg | png)."""
    qr = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    if fmt == "svg":
        qr.save(out, kind="svg", scale=4, xmldecl=True)
    else:
        qr.save(out, kind="png", scale=6)
    return out.getvalue()


def qr_response(text: str, fmt: str) -> Response:
    """The QR code as a response; not cached by shared caches (the URL in it is a capability)."""
    return Response(qr_bytes(text, fmt), media_type=MEDIA_TYPES[fmt], headers={"Cache-Control": "private, max-age=300"})
