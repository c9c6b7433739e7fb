"""Receive one multipart file part straight into a scratch file, hashing and counting as it comes.

Nothing is held in memory beyond a chunk; going over the size limit stops reading at once (413).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from servicekit.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

FILE_FIELD = "file"
MAX_FILENAME = 255


@dataclass
class ReceivedFile:
    path: Path
    sha256: str
    size: int
    filename: str
    claimed_type: str | None


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None


class _Receiver:
    def __init__(self, scratch: Path, limit: int) -> None:
        self.scratch = scratch
        self.limit = limit
        self.part: _Part | None = None
        self.header_field = b""
        self.header_value = b""
        self.handle: IO[bytes] | None = None
        self.digest = hashlib.sha256()
        self.size = 0
        self.path: Path | None = None
        self.filename: str | None = None
        self.claimed_type: str | None = None
        self.files = 0

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        assert self.part is not None
        name = self.header_field.decode("latin-1").lower()
        self.part.headers[name] = self.header_value.decode("utf-8", "replace")
        self.header_field = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        assert self.part is not None
        _, params = parse_options_header(self.part.headers.get("content-disposition", ""))
        self.part.name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        self.part.filename = filename.decode("utf-8", "replace") if filename is not None else None
        if self.part.name == FILE_FIELD and self.part.filename is not None:
            self.files += 1
            if self.files > 1:
                raise BadRequest("Send one file per upload.")
            self.filename = self.part.filename
            content_type = self.part.headers.get("content-type")
            self.claimed_type = content_type.split(";")[0].strip() if content_type else None
            self.path = self.scratch / f"upload-{uuid.uuid4().hex}"
            self.handle = self.path.open("xb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        assert self.part is not None
        if self.handle is None or self.part.name != FILE_FIELD:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > self.limit:
            raise PayloadTooLarge(f"A document may be at most {self.limit} bytes.")
        self.digest.update(chunk)
        self.handle.write(chunk)

    def on_part_end(self) -> None:
        if self.handle is not None and self.part is not None and self.part.name == FILE_FIELD:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            self.handle = None

    def discard(self) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


async def receive_file(request: Request, *, scratch: Path, limit: int) -> ReceivedFile:
    """Stream the request's multipart body; the part named 'file' lands in `scratch`."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMediaType("Upload the document as multipart/form-data (field 'file').")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise PayloadTooLarge(f"A document may be at most {limit} bytes.")
    receiver = _Receiver(scratch, limit)
    parser = MultipartParser(
        params[b"boundary"],
        callbacks={
            "on_part_begin": receiver.on_part_begin,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        receiver.discard()
        raise BadRequest("The multipart body is malformed.") from exc
    except BaseException:
        receiver.discard()
        raise
    if receiver.path is None or receiver.filename is None:
        raise BadRequest("No file was sent (multipart field 'file' with a filename).")
    if receiver.handle is not None:
        receiver.discard()
        raise BadRequest("The upload ended before the file did.")
    if receiver.size == 0:
        receiver.discard()
        raise BadRequest("The file is empty.")
    filename = os.path.basename(receiver.filename.replace("\\", "/"))[:MAX_FILENAME] or "document"
    return ReceivedFile(
        path=receiver.path,
        sha256=receiver.digest.hexdigest(),
        size=receiver.size,
        filename=filename,
        claimed_type=receiver.claimed_type,
    )
