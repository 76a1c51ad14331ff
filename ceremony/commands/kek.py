"""`ceremony kek inspect`: check a KEK file and show its fingerprint for reading aloud."""

from __future__ import annotations

from ceremony.azure.kek import Kek, load_kek
from ceremony.commands.common import print_json
from ceremony.readback import hex_groups


def kek_json(kek: Kek) -> dict:
    return {
        "kid": kek.kid.url,
        "vault_kind": kek.kid.vault_kind,
        "vault_name": kek.kid.vault_name,
        "cloud": kek.kid.cloud,
        "key_name": kek.kid.key_name,
        "version": kek.kid.version,
        "bits": kek.bits,
        "fingerprint_sha256": kek.fingerprint,
        "pgp_words": kek.pgp_words,
        "source": kek.source,
    }


def kek_text(kek: Kek) -> str:
    where = "Managed HSM" if kek.kid.vault_kind == "managedhsm" else "Key Vault"
    words = kek.pgp_words
    return "\n".join([
        f"KEK:          {kek.kid.url}",
        f"Target:       {where} {kek.kid.vault_name} ({kek.kid.cloud} cloud)",
        f"Key:          RSA {kek.bits}, e = 65537",
        f"Source:       {kek.source}",
        f"SHA-256:      {hex_groups(bytes.fromhex(kek.fingerprint))}",
        "PGP words:    " + " ".join(words[:8]),
        *("              " + " ".join(words[i:i + 8]) for i in range(8, len(words), 8)),
    ])


def inspect_kek(args, env) -> int:
    kek = load_kek(args.file, args.kid, args.json_file)
    if args.json:
        print_json(kek_json(kek))
    else:
        print(kek_text(kek))
    return 0
