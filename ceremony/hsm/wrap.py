"""Wrapping inside the HSM: CKM_RSA_AES_KEY_WRAP semantics in two steps, and its self-test.

SoftHSM 2.6.1 has no CKM_RSA_AES_KEY_WRAP and python-pkcs11 cannot pass its parameters, so the
package is made as Azure defines it, in two token operations: a fresh AES-256 session key wraps
the target with AES key wrap with padding (RFC 5649), then the KEK (imported as a session
public-key object) wraps that key with RSA-OAEP (SHA-1, MGF1-SHA-1, no label). The ciphertext
is the RSA part followed by the AES part. The ephemeral key is destroyed in every outcome.

Which mechanism number means RFC 5649 differs between tokens (0x210A is RFC 5649 on SoftHSM,
PKCS#7-padded RFC 3394 on others; PKCS#11 3.0 added 0x210B), so the pick is proved by a
known-answer self-test before any export: wrap throwaway non-sensitive test keys under a
throwaway software KEK, unwrap in software, compare. The same test detects tokens that pad the
key blob with zeros before KWP (SoftHSM 2.6.x).
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_der_private_key
from pkcs11 import MGF, KeyType, Mechanism, ObjectClass
from pkcs11 import Attribute as A
from pkcs11.util.ec import encode_named_curve_parameters

from ceremony.azure.byok import software_unwrap, zero_padding
from ceremony.errors import StepFailed, TokenError, VerificationError
from ceremony.hsm.thread import require_hsm_thread
from ceremony.hsm.types import SelfTestResult

KWP_PREFERENCE = (Mechanism.AES_KEY_WRAP_KWP, Mechanism.AES_KEY_WRAP_PAD)
OAEP_PARAMS = (Mechanism.SHA_1, MGF.SHA1, None)
EPHEMERAL_LABEL = "cmk-ceremony-ephemeral"
KEK_LABEL = "cmk-ceremony-kek"



def pick_kwp(token, token_label: str) -> Mechanism:
    require_hsm_thread()
    present = set(token.slot.get_mechanisms())
    if Mechanism.RSA_PKCS_OAEP not in present:
        raise _missing(token_label, "RSA-PKCS-OAEP")
    for mechanism in KWP_PREFERENCE:
        if mechanism in present:
            return mechanism
    raise _missing(token_label, "AES key wrap with padding (KWP, RFC 5649)")


def _missing(token_label: str, what: str) -> TokenError:
    return TokenError(
        "mechanism-missing", f"token {token_label} does not offer {what}",
        "BYOK export needs RSA-OAEP and AES-KWP inside the HSM; use a token that has both",
    )


def kek_template(public_key: rsa.RSAPublicKey, trusted: bool) -> dict:
    numbers = public_key.public_numbers()
    template = {
        A.CLASS: ObjectClass.PUBLIC_KEY, A.KEY_TYPE: KeyType.RSA, A.TOKEN: False,
        A.PRIVATE: False, A.LABEL: KEK_LABEL, A.MODIFIABLE: False,
        A.MODULUS: numbers.n.to_bytes((public_key.key_size + 7) // 8, "big"),
        A.PUBLIC_EXPONENT: numbers.e.to_bytes(3, "big"),
        A.WRAP: True, A.ENCRYPT: False, A.VERIFY: False, A.DERIVE: False,
    }
    if trusted:
        template[A.TRUSTED] = True
    return template


def ephemeral_template(trusted: bool) -> dict:
    """A 256-bit AES session key that can wrap once and be wrapped by the KEK."""
    template = {
        A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.VALUE_LEN: 32,
        A.TOKEN: False, A.PRIVATE: False, A.LABEL: EPHEMERAL_LABEL, A.SENSITIVE: True,
        A.EXTRACTABLE: True, A.WRAP: True, A.UNWRAP: False, A.ENCRYPT: False,
        A.DECRYPT: False, A.SIGN: False, A.VERIFY: False, A.DERIVE: False,
        A.WRAP_WITH_TRUSTED: trusted,
    }
    if trusted:
        template[A.TRUSTED] = True
    return template


def create_kek(session, public_key: rsa.RSAPublicKey, trusted: bool):
    require_hsm_thread()
    return session.create_object(kek_template(public_key, trusted))


def create_ephemeral(session, trusted: bool):
    require_hsm_thread()
    return session.generate_key(
        KeyType.AES, 256, mechanism=Mechanism.AES_KEY_GEN, template=ephemeral_template(trusted),
    )


def two_step_wrap(kwp: Mechanism, kek, ephemeral, target) -> bytes:
    """RSA-OAEP(KEK, ephemeral) || AES-KWP(ephemeral, target), both inside the HSM."""
    require_hsm_thread()
    aes_part = ephemeral.wrap_key(target, mechanism=kwp)
    rsa_part = kek.wrap_key(ephemeral, mechanism=Mechanism.RSA_PKCS_OAEP,
                            mechanism_param=OAEP_PARAMS)
    return rsa_part + aes_part


def wrap_once(session, kwp: Mechanism, kek, target, ephemeral=None) -> bytes:
    """Wrap `target`; the ephemeral key (made here unless given) is destroyed in every outcome."""
    if ephemeral is None:
        ephemeral = create_ephemeral(session, trusted=False)
    try:
        return two_step_wrap(kwp, kek, ephemeral, target)
    finally:
        ephemeral.destroy()


def self_test(session, kwp: Mechanism, token_label: str) -> SelfTestResult:
    """Known-answer test of the two-step wrap with throwaway keys and a software KEK."""
    require_hsm_thread()
    software_kek = rsa.generate_private_key(65537, 2048)
    aes_value = os.urandom(32)
    ec_private = ec.generate_private_key(ec.SECP256R1())
    made = []
    try:
        kek = create_kek(session, software_kek.public_key(), trusted=False)
        made.append(kek)
        aes_target = session.create_object(_test_aes(aes_value))
        made.append(aes_target)
        ec_target = session.create_object(_test_ec(ec_private))
        made.append(ec_target)
        aes_wrapped = wrap_once(session, kwp, kek, aes_target)
        ec_wrapped = wrap_once(session, kwp, kek, ec_target)
    finally:
        for obj in made:
            obj.destroy()
    try:
        aes_plain = software_unwrap(software_kek, aes_wrapped)
        ec_plain = software_unwrap(software_kek, ec_wrapped)
        if zero_padding(aes_value, aes_plain):
            raise _self_test_failed(token_label, kwp, "the AES test key came back padded")
        der = ec_plain[:_der_length(ec_plain)]
        padded = zero_padding(der, ec_plain)
    except VerificationError as error:
        raise _self_test_failed(token_label, kwp, error.message) from None
    try:
        recovered = load_der_private_key(der, None)
    except ValueError:
        raise _self_test_failed(token_label, kwp, "the EC test key came back unreadable") from None
    if recovered.private_numbers().private_value != ec_private.private_numbers().private_value:
        raise _self_test_failed(token_label, kwp, "the EC test key came back different")
    return SelfTestResult(kwp.name, padded, ("AES-256 raw", "EC P-256 PKCS#8"))


def _test_aes(value: bytes) -> dict:
    return {
        A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.TOKEN: False,
        A.PRIVATE: True, A.SENSITIVE: False, A.EXTRACTABLE: True, A.VALUE: value,
        A.LABEL: "cmk-ceremony-self-test",
    }


def _test_ec(key: ec.EllipticCurvePrivateKey) -> dict:
    return {
        A.CLASS: ObjectClass.PRIVATE_KEY, A.KEY_TYPE: KeyType.EC, A.TOKEN: False,
        A.PRIVATE: True, A.SENSITIVE: False, A.EXTRACTABLE: True,
        A.EC_PARAMS: encode_named_curve_parameters("secp256r1"),
        A.VALUE: key.private_numbers().private_value.to_bytes(32, "big"),
        A.LABEL: "cmk-ceremony-self-test",
    }


def _der_length(blob: bytes) -> int:
    """Length of the DER SEQUENCE at the start of `blob` (header included)."""
    if len(blob) < 2 or blob[0] != 0x30:
        return len(blob)
    if blob[1] < 0x80:
        return 2 + blob[1]
    count = blob[1] & 0x7F
    return 2 + count + int.from_bytes(blob[2:2 + count], "big")


def _self_test_failed(token_label: str, kwp: Mechanism, what: str) -> StepFailed:
    return StepFailed(
        "self-test-failed",
        f"wrap self-test on token {token_label} with {kwp.name} failed: {what}",
        "Do not export with this token; its key wrap does not produce what Azure expects",
    )
