"""A Key Vault key identifier (kid): which vault, which cloud, which key version.

The kid decides where a `.byok` package can be imported, so it is parsed strictly and in one
place: https only, a host that ends in one of Azure's Key Vault suffixes (the whole suffix after
a dot, so `x.vault.azure.net.evil.example` is foreign), and a versioned `/keys/<name>/<hex>` path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ceremony.errors import BadInputError

VaultKind = Literal["vault", "managedhsm"]
Cloud = Literal["public", "usgov", "china"]

# azure-cli's cloud table: keyvault_dns and mhsm_dns per cloud.
HOST_SUFFIXES: tuple[tuple[str, VaultKind, Cloud], ...] = (
    ("vault.azure.net", "vault", "public"),
    ("managedhsm.azure.net", "managedhsm", "public"),
    ("vault.usgovcloudapi.net", "vault", "usgov"),
    ("managedhsm.usgovcloudapi.net", "managedhsm", "usgov"),
    ("vault.azure.cn", "vault", "china"),
    ("managedhsm.azure.cn", "managedhsm", "china"),
)

_VAULT_NAME = re.compile(r"[a-z][a-z0-9-]{1,22}[a-z0-9]")
KEY_NAME = re.compile(r"[A-Za-z0-9-]{1,127}")
_VERSION = re.compile(r"[0-9A-Fa-f]{32}")
_HINT = "Copy the versioned kid that `az keyvault key show --query key.kid` prints for the KEK"


@dataclass(frozen=True)
class Kid:
    """A parsed, versioned kid; `url` is its canonical text (lowercase scheme and host)."""

    url: str
    vault_kind: VaultKind
    vault_name: str
    host: str
    cloud: Cloud
    key_name: str
    version: str

    def __str__(self) -> str:
        return self.url


def parse_kid(text: str) -> Kid:
    """Parse a versioned Key Vault or Managed HSM kid; raise BadInputError naming the fault."""
    text = text.strip()
    shown = _shown(text)
    if not text:
        raise BadInputError("kek-kid-invalid", "KEK kid is empty", _HINT)
    if not text.isprintable() or any(c.isspace() for c in text):
        raise _invalid(shown, "contains spaces or control characters")
    if not text.isascii():
        # Case folding would turn look-alikes (the Kelvin sign) into ASCII letters.
        raise _invalid(shown, "contains characters outside ASCII")
    if not text.lower().startswith("https://"):
        raise BadInputError("kek-kid-not-https", f"KEK kid {shown} is not an https URL", _HINT)
    try:
        parts = urlsplit(text)
    except ValueError:
        raise _invalid(shown, "is not a URL") from None
    if "@" in parts.netloc:
        raise _invalid(shown, "carries user information")
    if ":" in parts.netloc:
        raise _invalid(shown, "names a port")
    host = parts.netloc.lower()
    vault_name, kind, cloud = _split_host(host, shown)
    if not _VAULT_NAME.fullmatch(vault_name) or "--" in vault_name:
        raise BadInputError(
            "kek-kid-invalid",
            f"KEK kid {shown} has vault name {vault_name!r}, which Azure does not allow",
            "A vault or Managed HSM name is 3-24 letters, digits and hyphens, starts with a "
            "letter, ends with a letter or digit and has no double hyphen",
        )
    if "?" in text or "#" in text:
        raise _invalid(shown, "carries a query or fragment")
    key_name, version = _split_path(parts.path, shown)
    return Kid(
        url=f"https://{host}/keys/{key_name}/{version}",
        vault_kind=kind,
        vault_name=vault_name,
        host=host,
        cloud=cloud,
        key_name=key_name,
        version=version,
    )


def _split_host(host: str, shown: str) -> tuple[str, VaultKind, Cloud]:
    for suffix, kind, cloud in HOST_SUFFIXES:
        if host.endswith("." + suffix):
            return host[: -len(suffix) - 1], kind, cloud
    raise BadInputError(
        "kek-kid-foreign-host",
        f"KEK kid {shown} names host {_shown(host) or '(none)'}, "
        "which is not an Azure Key Vault or Managed HSM host",
        "A kid's host is <name>." + ", <name>.".join(s for s, _, _ in HOST_SUFFIXES),
    )


def _split_path(path: str, shown: str) -> tuple[str, str]:
    if re.fullmatch(r"/keys/[^/]+/?", path):
        raise BadInputError(
            "kek-kid-unversioned",
            f"KEK kid {shown} has no key version",
            "Give the versioned kid (it ends in /<32 hex digits>), as "
            "`az keyvault key show --query key.kid` prints it",
        )
    match = re.fullmatch(r"/keys/([^/]+)/([^/]+)", path)
    if not match:
        raise _invalid(shown, "does not have the path /keys/<name>/<version>")
    key_name, version = match.groups()
    if not KEY_NAME.fullmatch(key_name):
        raise _invalid(
            shown, f"has key name {key_name!r}, which is not 1-127 letters, digits and hyphens"
        )
    if not _VERSION.fullmatch(version):
        raise _invalid(shown, f"has key version {version!r}, which is not 32 hex digits")
    return key_name, version


def _invalid(shown: str, what: str) -> BadInputError:
    return BadInputError("kek-kid-invalid", f"KEK kid {shown} {what}", _HINT)


def _shown(text: str) -> str:
    """The text as it can go into a one-line message: printable, short."""
    if len(text) > 200:
        text = text[:200] + "..."
    return text if text.isprintable() and " " not in text else repr(text)
