"""What a file really is, from its bytes (puremagic and container checks), against an allow-list."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import puremagic

from servicekit.errors import UnsupportedMediaType

OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ODF = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
OLE2_TYPES = ("application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint")

# media type → file name extensions it may carry
ALLOWED: dict[str, frozenset[str]] = {
    "application/pdf": frozenset({".pdf"}),
    "image/png": frozenset({".png"}),
    "image/jpeg": frozenset({".jpg", ".jpeg"}),
    "image/gif": frozenset({".gif"}),
    "image/webp": frozenset({".webp"}),
    "image/tiff": frozenset({".tif", ".tiff"}),
    "text/plain": frozenset({".txt", ".text", ".log"}),
    "application/rtf": frozenset({".rtf"}),
    OOXML["word/"]: frozenset({".docx"}),
    OOXML["xl/"]: frozenset({".xlsx"}),
    OOXML["ppt/"]: frozenset({".pptx"}),
    "application/vnd.oasis.opendocument.text": frozenset({".odt"}),
    "application/vnd.oasis.opendocument.spreadsheet": frozenset({".ods"}),
    "application/vnd.oasis.opendocument.presentation": frozenset({".odp"}),
    "application/msword": frozenset({".doc"}),
    "application/vnd.ms-excel": frozenset({".xls"}),
    "application/vnd.ms-powerpoint": frozenset({".ppt"}),
}
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "text/rtf": "application/rtf"}
GENERIC_CLAIMS = {"application/octet-stream", "binary/octet-stream", ""}

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"{\\rtf", 0, "application/rtf"),
)
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class DetectedType:
    media_type: str
    extension: str


def _zip_office_type(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return declared if declared in ODF else None
            if "[Content_Types].xml" in names:
                for prefix, media_type in OOXML.items():
                    if any(name.startswith(prefix) for name in names):
                        return media_type
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    return None


def _looks_like_text(path: Path) -> bool:
    with path.open("rb") as handle:
        sample = handle.read(64 * 1024)
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(sample) - 4:
            return False
    return True


def content_types(path: Path) -> set[str]:
    """Media types the bytes can be, from their signatures (puremagic and container checks)."""
    with path.open("rb") as handle:
        head = handle.read(64)
    found: set[str] = set()
    try:
        for match in puremagic.magic_file(str(path)):
            mime = ALIASES.get(match.mime_type, match.mime_type)
            if mime in ALLOWED and mime not in OOXML.values() and mime not in ODF:
                found.add(mime)
    except (puremagic.PureError, ValueError, OSError):
        pass
    for signature, offset, media_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            found.add(media_type)
    if head.startswith(ZIP_MAGIC):
        # A ZIP is only an office document if its inside says so.
        found -= set(OOXML.values()) | ODF
        office = _zip_office_type(path)
        if office is not None:
            found.add(office)
    if head.startswith(OLE2_MAGIC):
        found |= set(OLE2_TYPES)
    if not found and not head.startswith((ZIP_MAGIC, OLE2_MAGIC)) and _looks_like_text(path):
        found.add("text/plain")
    return found


def detect(path: Path, *, claimed_type: str | None, filename: str) -> DetectedType:
    """The file's type from its content; 415 when not allowed or when it contradicts the claim."""
    possible = content_types(path)
    if not possible:
        raise UnsupportedMediaType(
            "This kind of file is not accepted (PDF, images, plain text, office documents)."
        )
    claim = ALIASES.get((claimed_type or "").lower(), (claimed_type or "").lower())
    extension = Path(filename).suffix.lower()
    if claim and claim not in GENERIC_CLAIMS:
        if claim not in possible:
            raise UnsupportedMediaType(
                f"The file says it is {claim} but its content is not.",
                detected=sorted(possible),
            )
        possible = {claim}
    if extension:
        matching = {media for media in possible if extension in ALLOWED[media]}
        if not matching:
            raise UnsupportedMediaType(
                f"The file name ends in {extension} but its content is {sorted(possible)[0]}.",
                detected=sorted(possible),
            )
        possible = matching
    media_type = sorted(possible)[0]
    return DetectedType(media_type=media_type, extension=sorted(ALLOWED[media_type])[0])
