"""QR codes as PNG and SVG, with the quiet zone scanners need: a certificate's link, a visitor's pass."""

from __future__ import annotations

import io

import segno

#: Error correction level M (15% of the symbol may be lost): a phone screen's glare or a crease on paper.
QR_ERROR = "m"


def qr_png(text: str, *, scale: int = 6) -> bytes:
    """The QR code of ``text`` as a PNG, with the four-module quiet zone scanners need."""
    buffer = io.BytesIO()
    segno.make(text, error=QR_ERROR, boost_error=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_svg(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error=QR_ERROR, boost_error=False).save(buffer, kind="svg", scale=4, border=4, xmldecl=False,
                                                             title="QR")
    return buffer.getvalue()
