"""What a key is: type and size or curve, shared by the plan, the HSM layer and Azure rules.

Curve names are Azure's (`P-256`, `P-384`, `P-521`, `P-256K`) because the plan, the record and
the `az` commands speak them; the HSM layer maps them to OIDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KeyKind = Literal["rsa", "ec", "aes"]

RSA_SIZES = (2048, 3072, 4096)
EC_CURVES = ("P-256", "P-384", "P-521", "P-256K")
AES_SIZES = (128, 192, 256)


@dataclass(frozen=True)
class KeySpec:
    """A key's type with its size in bits (RSA, AES) or its curve (EC)."""

    kind: KeyKind
    size: int | None = None
    curve: str | None = None

    def __post_init__(self) -> None:
        if self.kind in ("rsa", "aes"):
            allowed = RSA_SIZES if self.kind == "rsa" else AES_SIZES
            if self.size not in allowed or self.curve is not None:
                raise ValueError(f"{self.kind} size {self.size} is not one of {commas(allowed)}")
        elif self.kind == "ec":
            if self.curve not in EC_CURVES or self.size is not None:
                raise ValueError(f"ec curve {self.curve} is not one of {commas(EC_CURVES)}")
        else:
            raise ValueError(f"key type {self.kind} is not one of rsa, ec, aes")

    def __str__(self) -> str:
        if self.kind == "ec":
            return f"EC {self.curve}"
        return f"{self.kind.upper()} {self.size}"

    @property
    def asymmetric(self) -> bool:
        return self.kind != "aes"


def commas(values, most: int = 10) -> str:
    """`a, b, c`; past `most` values, the first ones and how many more (a plan may list 200,000
    workspaces, and one problem is one line)."""
    values = [str(v) for v in values]
    if len(values) <= most:
        return ", ".join(values)
    return f"{', '.join(values[:most])} and {len(values) - most:,} more"
