"""Small real files for the attachment tests (not a test module itself)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.sample_files import pdf_bytes, png_bytes

__all__ = ["pdf_bytes", "pdf_upload", "png_bytes", "png_upload", "upload"]


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def png_upload(name: str = "screenshot.png", **kwargs):
    return upload(name, png_bytes(**kwargs), "image/png")


def pdf_upload(name: str = "invoice.pdf", **kwargs):
    return upload(name, pdf_bytes(**kwargs), "application/pdf")
