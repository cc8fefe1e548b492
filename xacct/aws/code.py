"""The registrar's code as Lambda takes it: a zip of this package's AWS-facing core (no terminal,
no commands, no emulator), made the same from the same sources, byte for byte, so that its name
(a hash of its bytes) changes exactly when the code does and a re-run redeploys nothing."""

from __future__ import annotations

import hashlib
import io
import zipfile
from importlib import resources
from pathlib import Path

PACKAGES = ("", "aws", "core", "function")  # beneath xacct/: what the registrar imports, and no more
HANDLER = "xacct.function.registrar.handler"


def _files() -> list[tuple[str, bytes]]:
    root = Path(__file__).resolve().parent.parent
    found = []
    for package in PACKAGES:
        folder = root / package if package else root
        for path in sorted(folder.glob("*.py")):
            found.append((f"xacct/{package + '/' if package else ''}{path.name}", path.read_bytes()))
    templates = resources.files("xacct.cfn")
    for item in sorted(templates.iterdir(), key=lambda t: t.name):
        if item.name.endswith(".yaml"):
            found.append((f"xacct/cfn/{item.name}", item.read_bytes()))
    found.append(("xacct/cfn/__init__.py", b""))
    return found


def registrar_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in _files():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, body)
    return buffer.getvalue()


def key_of(body: bytes) -> str:
    return f"xacct/code/registrar-{hashlib.sha256(body).hexdigest()[:16]}.zip"
