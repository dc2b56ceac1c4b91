"""A certificate's QR code (PNG, SVG) and its printout (PNG, PDF) in Chinese or English, with a real CJK font."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from approvals.codes import certificate_url
from approvals.models import Certificate
from core.qr import qr_png, qr_svg

__all__ = ["certificate_picture", "qr_png", "qr_svg"]


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    from pylopdf_fonts_zh_cn import sans_path  # Noto Sans SC, pinned in requirements.txt

    return ImageFont.truetype(str(sans_path()), size)


def certificate_picture(certificate: Certificate, *, english: bool = False, fmt: str = "png") -> bytes:
    """The printout: title, number, holder, issuer, validity, every field, and the QR code, on an A4-shaped page
    (1240 x 1754 pixels, 150 dpi).  ``fmt`` is ``png`` or ``pdf``."""
    width, height = 1240, 1754
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle([40, 40, width - 40, height - 40], outline=(160, 30, 30), width=6)
    draw.rectangle([56, 56, width - 56, height - 56], outline=(160, 30, 30), width=2)
    title = certificate.kind.name_en if english else certificate.kind.name
    _centered(draw, title, 150, _font(64 if not english else 48), width, (160, 30, 30))
    _centered(draw, ("No. " if english else "编号：") + certificate.number, 250, _font(32), width, "black")
    labels = {spec["name"]: spec["label_en" if english else "label"] for spec in certificate.kind.fields}
    rows = [
        ("Holder" if english else "持证主体", certificate.holder.name),
        ("Identity number" if english else "证件号码", certificate.holder.id_masked),
        *[(labels.get(name, name), str(value)) for name, value in certificate.fields.items()],
        ("Valid from" if english else "有效期自", certificate.valid_from.date().isoformat()),
        ("Valid until" if english else "有效期至",
         certificate.valid_until.date().isoformat() if certificate.valid_until else ("Long-term" if english else "长期")),
        ("Issued by" if english else "发证机关",
         (certificate.department.name_en or certificate.department.name) if english else certificate.department.name),
    ]
    y = 360
    label_font, value_font = _font(30), _font(32)
    for label, value in rows:
        draw.text((140, y), label, font=label_font, fill=(90, 90, 90))
        for line in _wrapped(value, value_font, width - 560):
            draw.text((480, y), line, font=value_font, fill="black")
            y += 48
        y += 22
    qr = Image.open(io.BytesIO(qr_png(certificate_url(certificate.code), scale=5))) if certificate.code else None
    if qr is not None:
        qr = qr.convert("RGB")
        side = min(520, qr.width)
        qr = qr.resize((side, side), Image.NEAREST)
        page.paste(qr, ((width - side) // 2, height - side - 200))
        note = "Scan to verify" if english else "扫码核验真伪与状态"
        _centered(draw, note, height - 170, _font(30), width, (90, 90, 90))
    buffer = io.BytesIO()
    if fmt == "pdf":
        page.save(buffer, format="PDF", resolution=150.0, title=certificate.number)
    else:
        page.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _centered(draw: ImageDraw.ImageDraw, text: str, y: int, font, width: int, fill) -> None:
    left, _top, right, _bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) // 2, y), text, font=font, fill=fill)


def _wrapped(text: str, font, limit: int) -> list[str]:
    """``text`` in lines no wider than ``limit`` pixels (Chinese wraps between any two characters)."""
    lines, line = [], ""
    for ch in text:
        if font.getlength(line + ch) > limit and line:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines or [""]
