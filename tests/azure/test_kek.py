"""KEK intake from real files: every accepted form, and every refusal with its exact line."""

import base64
import hashlib
import json
import subprocess
from datetime import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ceremony.azure.kek import load_kek
from ceremony.errors import BadInputError, ExitCode
from ceremony.readback import EVEN_WORDS, ODD_WORDS, hex_groups, pgp_words
from tests.support import HSM_KID, VAULT_KID, ec_key, public_pem, rsa_key, write

DOWNLOAD = "Download the KEK with `az keyvault key download --encoding PEM --file kek.pem`"
CREATE = "Create the KEK with `az keyvault key create --kty RSA-HSM --size 4096 --ops import`"
AZ_JSON = "Save the output of `az keyvault key show --id <kid>` as it is printed"
Enc = serialization.Encoding
Pub = serialization.PublicFormat
Priv = serialization.PrivateFormat


def az_show_json(public_key, kid=VAULT_KID, kty="RSA-HSM", ops=("import",), style="cli"):
    """What `az keyvault key show` prints (style "cli") or the REST API returns ("rest")."""
    numbers = public_key.public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    ops = None if ops is None else list(ops)
    if style == "cli":  # azure-cli transform_key_output: standard base64, keyOps
        key = {name: None for name in ("crv", "d", "dp", "dq", "k", "p", "q", "qi", "t", "x", "y")}
        key.update(
            kid=kid,
            kty=kty,
            keyOps=ops,
            n=base64.b64encode(n).decode(),
            e=base64.b64encode(e).decode(),
        )
    else:  # REST JsonWebKey: base64url without padding, key_ops
        b64url = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
        key = {"kid": kid, "kty": kty, "key_ops": ops, "n": b64url(n), "e": b64url(e)}
    document = {
        "attributes": {"enabled": True, "exportable": False, "recoveryLevel": "Recoverable"},
        "key": key,
        "managed": None,
        "releasePolicy": None,
        "tags": None,
    }
    return json.dumps(document, indent=2).encode()


def openssl_fingerprint(pem_path):
    der = subprocess.run(
        ["/usr/bin/openssl", "pkey", "-pubin", "-in", str(pem_path), "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    return hashlib.sha256(der).hexdigest()


def refused(*args, **kwargs) -> BadInputError:
    with pytest.raises(BadInputError) as caught:
        load_kek(*args, **kwargs)
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert "\n" not in caught.value.line()
    return caught.value


# ---------------------------------------------------------------- accepted forms


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_pem_from_az_download_each_size(tmp_path, bits):
    path = write(tmp_path / "kek.pem", public_pem(rsa_key(bits)))
    kek = load_kek(path, kid=VAULT_KID)
    assert kek.bits == bits
    assert kek.kid.url == VAULT_KID
    assert kek.fingerprint == openssl_fingerprint(path)
    assert kek.spki_der == rsa_key(bits).public_key().public_bytes(
        Enc.DER, Pub.SubjectPublicKeyInfo
    )
    assert kek.public_key == rsa_key(bits).public_key()
    assert kek.source == f"{path} (PEM PUBLIC KEY)"


@pytest.mark.parametrize(
    ("encoding", "form", "label"),
    [
        (Enc.DER, Pub.SubjectPublicKeyInfo, "DER public key"),
        (Enc.PEM, Pub.PKCS1, "PEM RSA PUBLIC KEY"),
        (Enc.DER, Pub.PKCS1, "DER public key"),
    ],
)
def test_der_and_pkcs1_forms_give_the_same_fingerprint(tmp_path, encoding, form, label):
    key = rsa_key(2048).public_key()
    pem = write(tmp_path / "kek.pem", public_pem(rsa_key(2048)))
    other = write(tmp_path / "kek.other", key.public_bytes(encoding, form))
    kek = load_kek(other, kid=VAULT_KID)
    assert kek.fingerprint == load_kek(pem, kid=VAULT_KID).fingerprint
    assert kek.source == f"{other} ({label})"


@pytest.mark.parametrize("style", ["cli", "rest"])
def test_json_from_az_keyvault_key_show(tmp_path, style):
    path = write(tmp_path / "kek.json", az_show_json(rsa_key(3072).public_key(), style=style))
    kek = load_kek(path)
    assert (kek.kid.url, kek.bits) == (VAULT_KID, 3072)
    assert kek.source == f"{path} (az keyvault key show JSON)"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le"])
def test_json_saved_by_powershell_redirect(tmp_path, encoding):
    text = az_show_json(rsa_key(2048).public_key()).decode()
    path = write(tmp_path / "kek.json", text.encode(encoding))
    assert load_kek(path).kid.url == VAULT_KID


def test_pem_with_json_takes_the_kid_from_the_json(tmp_path):
    pem = write(tmp_path / "kek.pem", public_pem(rsa_key(4096)))
    js = write(tmp_path / "kek.json", az_show_json(rsa_key(4096).public_key(), kid=HSM_KID))
    kek = load_kek(pem, json_path=js)
    assert kek.kid.url == HSM_KID
    assert kek.kid.vault_kind == "managedhsm"
    assert kek.source == f"{pem} (PEM PUBLIC KEY); {js} (az keyvault key show JSON)"
    same = HSM_KID.replace("contoso-hsm", "CONTOSO-HSM")
    assert load_kek(pem, kid=same, json_path=js).kid.url == HSM_KID


def test_pgp_words_read_the_fingerprint(tmp_path):
    kek = load_kek(write(tmp_path / "kek.pem", public_pem(rsa_key(2048))), kid=VAULT_KID)
    assert kek.pgp_words == pgp_words(hashlib.sha256(kek.spki_der).digest())
    assert len(kek.pgp_words) == 32


# ---------------------------------------------------------------- kid agreement


def test_kid_given_and_json_kid_disagree(tmp_path):
    js = write(tmp_path / "kek.json", az_show_json(rsa_key(2048).public_key()))
    other = VAULT_KID.replace("ceremony-kek", "other-kek")
    assert refused(js, kid=other).line() == (
        f"ceremony: error: KEK kid {other} differs from {VAULT_KID} in {js}. "
        "Use the kid that `az keyvault key show` prints for the same key version"
    )


def test_pem_without_kid(tmp_path):
    pem = write(tmp_path / "kek.pem", public_pem(rsa_key(2048)))
    assert refused(pem).line() == (
        f"ceremony: error: KEK file {pem} comes without a kid. Give the KEK's versioned kid, "
        "or the JSON that `az keyvault key show` prints"
    )


def test_unversioned_kid_with_pem(tmp_path):
    pem = write(tmp_path / "kek.pem", public_pem(rsa_key(2048)))
    kid = VAULT_KID.rsplit("/", 1)[0]
    assert refused(pem, kid=kid).code == "kek-kid-unversioned"


def test_foreign_kid_in_json(tmp_path):
    kid = VAULT_KID.replace("vault.azure.net", "vault.azure.net.evil.example")
    js = write(tmp_path / "kek.json", az_show_json(rsa_key(2048).public_key(), kid=kid))
    assert refused(js).code == "kek-kid-foreign-host"


# ---------------------------------------------------------------- unreadable and garbage


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.pem"
    assert refused(path, kid=VAULT_KID).line() == (
        f"ceremony: error: KEK file {path} cannot be read: No such file or directory. "
        "Check the path to the KEK file copied from the online workstation"
    )


def test_directory_and_missing_json(tmp_path):
    assert (
        refused(tmp_path, kid=VAULT_KID)
        .line()
        .startswith(f"ceremony: error: KEK file {tmp_path} cannot be read: Is a directory. ")
    )
    pem = write(tmp_path / "kek.pem", public_pem(rsa_key(2048)))
    assert refused(pem, json_path=tmp_path / "kek.json").code == "kek-file-unreadable"


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"])
def test_empty(tmp_path, content):
    path = write(tmp_path / "kek.pem", content)
    assert refused(path, kid=VAULT_KID).line() == (
        f"ceremony: error: KEK file {path} is empty. {DOWNLOAD}"
    )


@pytest.mark.parametrize("content", [b"hello, this is not a key\n", bytes(range(256)) * 3, b"[1]"])
def test_garbage(tmp_path, content):
    path = write(tmp_path / "kek.bin", content)
    assert refused(path, kid=VAULT_KID).line() == (
        f"ceremony: error: KEK file {path} is neither a PEM or DER public key nor "
        f"`az keyvault key show` JSON. {DOWNLOAD}"
    )


def test_truncated_pem(tmp_path):
    pem = public_pem(rsa_key(2048))
    path = write(tmp_path / "kek.pem", pem[: len(pem) // 2])
    assert refused(path, kid=VAULT_KID).line() == (
        f"ceremony: error: KEK file {path} holds a truncated PEM PUBLIC KEY block (no END line). "
        "Copy the KEK file again; it was cut short"
    )


def test_damaged_pem(tmp_path):
    lines = public_pem(rsa_key(2048)).splitlines(keepends=True)
    path = write(tmp_path / "kek.pem", b"".join(lines[:2] + lines[3:]))
    assert refused(path, kid=VAULT_KID).line() == (
        f"ceremony: error: KEK file {path} holds a damaged PEM PUBLIC KEY block. {DOWNLOAD}"
    )


def test_certificate_instead_of_public_key(tmp_path):
    key = ec_key("P-256")
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "kek")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2025, 1, 1))
        .not_valid_after(datetime(2026, 1, 1))
        .sign(key, hashes.SHA256())
    )
    path = write(tmp_path / "kek.pem", cert.public_bytes(Enc.PEM))
    assert refused(path, kid=VAULT_KID).line() == (
        f"ceremony: error: KEK file {path} holds a PEM CERTIFICATE block, not a PUBLIC KEY. "
        f"{DOWNLOAD}"
    )


# ---------------------------------------------------------------- private keys


def private_forms():
    key = rsa_key(2048)
    secret = serialization.BestAvailableEncryption(b"correct horse")
    plain = serialization.NoEncryption()
    return {
        "pkcs8-pem": key.private_bytes(Enc.PEM, Priv.PKCS8, plain),
        "rsa-pem": key.private_bytes(Enc.PEM, Priv.TraditionalOpenSSL, plain),
        "ec-pem": ec_key("P-256").private_bytes(Enc.PEM, Priv.TraditionalOpenSSL, plain),
        "encrypted-pem": key.private_bytes(Enc.PEM, Priv.PKCS8, secret),
        "pkcs8-der": key.private_bytes(Enc.DER, Priv.PKCS8, plain),
        "rsa-der": key.private_bytes(Enc.DER, Priv.TraditionalOpenSSL, plain),
        "encrypted-der": key.private_bytes(Enc.DER, Priv.PKCS8, secret),
        "public-then-private": public_pem(key) + key.private_bytes(Enc.PEM, Priv.PKCS8, plain),
    }


@pytest.mark.parametrize("form", list(private_forms()))
def test_private_key_refused_without_echo(tmp_path, form):
    data = private_forms()[form]
    path = write(tmp_path / "kek.pem", data)
    line = refused(path, kid=VAULT_KID).line()
    assert line == (
        f"ceremony: error: KEK file {path} holds a private key; a KEK file holds the vault's "
        f"public key only. Remove the private key from the media; {DOWNLOAD}"
    )
    body = data.replace(b"\n", b"")
    assert not any(body[i : i + 8].decode("latin-1") in line for i in range(40, len(body) - 8, 8))


def test_private_jwk_refused(tmp_path):
    document = json.loads(az_show_json(rsa_key(2048).public_key()))
    document["key"]["d"] = base64.b64encode(b"\x01" * 256).decode()
    path = write(tmp_path / "kek.json", json.dumps(document).encode())
    line = refused(path).line()
    assert line.startswith(f"ceremony: error: KEK file {path} holds a private key; ")
    assert document["key"]["d"][:12] not in line


# ---------------------------------------------------------------- wrong keys


def test_ec_kek(tmp_path):
    path = write(tmp_path / "kek.pem", public_pem(ec_key("P-384")))
    assert refused(path, kid=VAULT_KID).line() == (
        f"ceremony: error: KEK file {path} holds a non-RSA key (EC secp384r1); a KEK is RSA. "
        f"{CREATE}"
    )


def test_ed25519_kek(tmp_path):
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    path = write(tmp_path / "kek.pem", key.public_bytes(Enc.PEM, Pub.SubjectPublicKeyInfo))
    assert refused(path, kid=VAULT_KID).code == "kek-not-rsa"


def test_1024_bit_kek(tmp_path):
    path = write(tmp_path / "kek.pem", public_pem(rsa.generate_private_key(65537, 1024)))
    assert refused(path, kid=VAULT_KID).line() == (
        f"ceremony: error: KEK file {path} holds a 1024-bit RSA key; a KEK is 2048, 3072 or "
        f"4096 bits. {CREATE}"
    )


def test_exponent_3(tmp_path):
    key = rsa.RSAPublicNumbers(3, rsa_key(2048).public_key().public_numbers().n).public_key()
    path = write(tmp_path / "kek.pem", key.public_bytes(Enc.PEM, Pub.SubjectPublicKeyInfo))
    assert refused(path, kid=VAULT_KID).line() == (
        f"ceremony: error: KEK file {path} holds an RSA key with public exponent 3; a KEK uses "
        f"65537. {CREATE}"
    )
    js = write(tmp_path / "kek.json", az_show_json(key, style="rest"))
    assert refused(js).code == "kek-exponent"


def test_small_key_in_json(tmp_path):
    key = rsa.generate_private_key(65537, 1024).public_key()
    assert refused(write(tmp_path / "kek.json", az_show_json(key))).code == "kek-size"


# ---------------------------------------------------------------- JSON rules


@pytest.mark.parametrize("kty", ["RSA", "EC-HSM", "oct-HSM"])
def test_json_kty_must_be_rsa_hsm(tmp_path, kty):
    path = write(tmp_path / "kek.json", az_show_json(rsa_key(2048).public_key(), kty=kty))
    assert refused(path).line() == (
        f'ceremony: error: KEK file {path} has kty "{kty}"; a KEK is RSA-HSM. {CREATE}'
    )


@pytest.mark.parametrize(
    ("ops", "shown"),
    [
        (("import", "wrapKey"), '["import", "wrapKey"]'),
        (("wrapKey", "unwrapKey"), '["wrapKey", "unwrapKey"]'),
        ((), "[]"),
        (None, "null"),
    ],
)
@pytest.mark.parametrize("style", ["cli", "rest"])
def test_key_ops_must_be_exactly_import(tmp_path, ops, shown, style):
    key = rsa_key(2048).public_key()
    path = write(tmp_path / "kek.json", az_show_json(key, ops=ops, style=style))
    assert refused(path).line() == (
        f'ceremony: error: KEK file {path} has key_ops {shown}; a KEK allows exactly ["import"]. '
        f"{CREATE}"
    )


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"{not json", "is not valid JSON"),
        (b'{"name": "kek"}', "has no key object"),
        (b'{"key": null}', "has no key object"),
        (b'{"key": {"kty": "RSA-HSM", "keyOps": ["import"], "n": "AQAB", "e": "AQAB"}}',
         "has no key.kid"),
    ],
)  # fmt: skip
def test_json_structure(tmp_path, content, what):
    path = write(tmp_path / "kek.json", content)
    assert refused(path).line() == f"ceremony: error: KEK file {path} {what}. {AZ_JSON}"


@pytest.mark.parametrize("n", ["", "not*base64", None, 12345])
def test_json_modulus_unreadable(tmp_path, n):
    document = json.loads(az_show_json(rsa_key(2048).public_key()))
    document["key"]["n"] = n
    path = write(tmp_path / "kek.json", json.dumps(document).encode())
    assert refused(path).line() == (
        f"ceremony: error: KEK file {path} has no valid base64 key.n and key.e. {AZ_JSON}"
    )


def test_pem_and_json_disagree(tmp_path):
    pem = write(tmp_path / "kek.pem", public_pem(rsa_key(2048)))
    js = write(tmp_path / "kek.json", az_show_json(rsa_key(3072).public_key()))
    assert refused(pem, json_path=js).line() == (
        f"ceremony: error: KEK files {pem} and {js} hold different public keys. Take both from "
        "the same key version: `az keyvault key download --id <kid>` and "
        "`az keyvault key show --id <kid>`"
    )


# ---------------------------------------------------------------- PGP words for the paper log


def test_pgp_word_ends_of_both_lists():
    assert pgp_words(b"\x00\x00") == ["aardvark", "adroitness"]
    assert pgp_words(b"\xff\xff") == ["Zulu", "Yucatan"]
    assert pgp_words(b"") == []


def test_pgp_words_published_example():
    data = bytes.fromhex("E58294F2E9A227486E8B061B31CC528FD7FA3F19")
    assert " ".join(pgp_words(data)) == (
        "topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator goldfish Medusa "
        "afflict bravado chatter revolver Dupont midsummer stopwatch whimsical cowbell bottomless"
    )
    assert hex_groups(data) == "E582 94F2 E9A2 2748 6E8B 061B 31CC 528F D7FA 3F19"


def test_pgp_word_lists_are_the_published_ones():
    assert len(set(EVEN_WORDS)) == len(set(ODD_WORDS)) == 256
    assert not set(EVEN_WORDS) & set(ODD_WORDS)
    # SHA-256 of the newline-joined, lowercased even then odd lists, as pinned independently
    # by other implementations of the published list; the second pins our capitalisation.
    lowered = "\n".join(w.lower() for w in EVEN_WORDS + ODD_WORDS).encode()
    assert hashlib.sha256(lowered).hexdigest() == (
        "41db18a831d9c40dc35b374ef36f0bf616d4f563768fcc1a5aa11c7b6530cf5e"
    )
    cased = "\n".join(EVEN_WORDS + ODD_WORDS).encode()
    assert hashlib.sha256(cased).hexdigest() == (
        "e9b7b0052233a74aa56724ed3f79c272036aed68d8f4c0856e833c8043b9ac62"
    )
