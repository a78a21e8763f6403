"""Small real files made from scratch (no imaging library): a PNG picture and a one-page PDF.
The demo data attaches them, and the tests upload them."""

from __future__ import annotations

import struct
import zlib


def png_bytes(
    width: int = 4,
    height: int = 3,
    rgb: tuple[int, int, int] = (220, 60, 40),
    *,
    pixels=None,
) -> bytes:
    """A real PNG: of one colour, or `pixels(x, y) -> (r, g, b)`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    if pixels is None:
        raw = (b"\x00" + bytes(rgb) * width) * height
    else:
        raw = b"".join(
            b"\x00" + b"".join(bytes(pixels(x, y)) for x in range(width)) for y in range(height)
        )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(text: str = "Invoice 42", *, javascript: str | None = None) -> bytes:
    """A one-page PDF; with `javascript`, one that runs it when opened (in a viewer that runs
    PDF JavaScript)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    action = f"/OpenAction << /S /JavaScript /JS ({javascript}) >>" if javascript else ""
    objects = [
        f"<< /Type /Catalog /Pages 2 0 R {action}>>".encode(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def error_dialog_png() -> bytes:
    """A 480x300 picture of an error dialog: a grey window, a blue title bar, a red button."""

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if 40 <= x < 440 and 30 <= y < 270:
            if y < 62:
                return (13, 110, 253)  # title bar
            if 300 <= x < 410 and 220 <= y < 250:
                return (220, 53, 69)  # the "OK" button
            if 70 <= x < 110 and 90 <= y < 130:
                return (255, 193, 7)  # the warning sign
            if 130 <= x < 400 and y in (100, 101, 118, 119, 136, 137):
                return (108, 117, 125)  # lines of text
            return (248, 249, 250)
        return (206, 212, 218)

    return png_bytes(480, 300, pixels=pixel)
