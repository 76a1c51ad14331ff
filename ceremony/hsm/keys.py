"""Generate keys from explicit templates, find them again by CKA_ID, and read their facts.

Facts are public: the SubjectPublicKeyInfo of an RSA or EC key and the token-computed key check
value of an AES key. Nothing here reads CKA_VALUE or private components (invariant 1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pkcs11 import DEFAULT, KeyType, Mechanism, ObjectClass
from pkcs11 import Attribute as A
from pkcs11.exceptions import AttributeTypeInvalid
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from ceremony.errors import BadInputError, StepFailed, TokenError, VerificationError
from ceremony.hsm import templates
from ceremony.hsm.templates import Policy
from ceremony.hsm.thread import require_hsm_thread
from ceremony.hsm.types import KeyFacts, KeyRef
from ceremony.keyspec import KeySpec

GENERATE_MECHANISM = {
    "rsa": Mechanism.RSA_PKCS_KEY_PAIR_GEN,
    "ec": Mechanism.EC_KEY_PAIR_GEN,
    "aes": Mechanism.AES_KEY_GEN,
}

SNAPSHOT_ATTRIBUTES = (
    ("CLASS", A.CLASS), ("KEY_TYPE", A.KEY_TYPE), ("TOKEN", A.TOKEN), ("PRIVATE", A.PRIVATE),
    ("LOCAL", A.LOCAL), ("SENSITIVE", A.SENSITIVE), ("ALWAYS_SENSITIVE", A.ALWAYS_SENSITIVE),
    ("EXTRACTABLE", A.EXTRACTABLE), ("NEVER_EXTRACTABLE", A.NEVER_EXTRACTABLE),
    ("WRAP_WITH_TRUSTED", A.WRAP_WITH_TRUSTED), ("TRUSTED", A.TRUSTED),
    ("MODIFIABLE", A.MODIFIABLE), ("ENCRYPT", A.ENCRYPT), ("DECRYPT", A.DECRYPT),
    ("WRAP", A.WRAP), ("UNWRAP", A.UNWRAP), ("SIGN", A.SIGN), ("VERIFY", A.VERIFY),
    ("DERIVE", A.DERIVE),
)


def object_class(ref: KeyRef) -> ObjectClass:
    """The class a lookup of the key's own half takes: secret key (AES) or private key."""
    return ObjectClass.SECRET_KEY if ref.spec.kind == "aes" else ObjectClass.PRIVATE_KEY


def find_objects(session, template: dict) -> list:
    """All objects matching; consumed fully, or the next search fails with OperationActive."""
    require_hsm_thread()
    return list(session.get_objects(template))


def refuse_existing_label(session, label: str, token_label: str) -> None:
    if find_objects(session, {A.LABEL: label}):
        raise BadInputError(
            "key-label-exists",
            f"token {token_label} already holds an object labelled {label!r}",
            "Choose another label; the tool never reuses or replaces a key",
        )


def new_key_id(session) -> bytes:
    """A 16-byte CKA_ID from the token's RNG, drawn before generation so it can be journaled."""
    require_hsm_thread()
    return session.generate_random(128)


def generate(
    session, spec: KeySpec, label: str, policy: Policy, token_label: str,
    key_id: bytes | None = None,
) -> KeyRef:
    """Create a key from an explicit template; `key_id` defaults to a fresh random CKA_ID."""
    require_hsm_thread()
    refuse_existing_label(session, label, token_label)
    key_id = key_id or new_key_id(session)
    mechanism = GENERATE_MECHANISM[spec.kind]
    if spec.kind == "aes":
        session.generate_key(
            KeyType.AES, spec.size, mechanism=mechanism,
            template=templates.secret_template(spec, label, key_id, policy),
        )
    else:
        ec_params = None
        if spec.kind == "ec":
            ec_params = encode_named_curve_parameters(templates.CURVE_NAMES[spec.curve])
        session.generate_keypair(
            templates.key_type(spec), spec.size, mechanism=mechanism,
            public_template=templates.public_template(spec, label, key_id, ec_params),
            private_template=templates.private_template(spec, label, key_id, policy),
        )
    ref = KeyRef(label=label, key_id=key_id, spec=spec)
    check_readback(session, ref, token_label)
    return ref


def find_one(session, ref: KeyRef, object_class: ObjectClass, token_label: str):
    """The one object of `object_class` with the key's CKA_ID, checked to carry its label."""
    found = find_objects(session, {A.CLASS: object_class, A.ID: ref.key_id})
    if len(found) != 1:
        raise TokenError(
            "key-not-found" if not found else "key-ambiguous",
            f"token {token_label} holds {len(found)} {object_class.name.lower()} objects with "
            f"CKA_ID {ref.key_id.hex()} (key {ref.label!r}); expected exactly one",
            "Check the token's contents against the ceremony journal",
        )
    _check_label(found[0], ref, token_label)
    return found[0]


def _check_label(obj, ref: KeyRef, token_label: str) -> None:
    label = obj[A.LABEL]
    if label != ref.label:
        raise VerificationError(
            "key-label-mismatch",
            f"token {token_label} object with CKA_ID {ref.key_id.hex()} is labelled {label!r}, "
            f"not {ref.label!r}",
            "Nothing was touched: the tool acts only on objects it made; compare the token with "
            "the journal",
        )


def own_objects(session, ref: KeyRef, token_label: str) -> list:
    """Every object carrying the key's CKA_ID ([] when none), each checked to be the key's: its
    label, and its class (the key's own, or the public half of an RSA or EC key)."""
    allowed = {object_class(ref), ObjectClass.PUBLIC_KEY} if ref.spec.asymmetric else {
        object_class(ref)}
    found = objects_with_id(session, ref.key_id)
    for obj in found:
        _check_label(obj, ref, token_label)
        if obj[A.CLASS] not in allowed:
            raise VerificationError(
                "key-class-mismatch",
                f"token {token_label} object {ref.label!r} with CKA_ID {ref.key_id.hex()} is a "
                f"{obj[A.CLASS].name.lower()}, not part of a {ref.spec} key",
                "Nothing was touched: compare the token with the journal",
            )
    return found


@dataclass(frozen=True)
class WrappedKey:
    """A key-transfer blob and what unwraps it on the token."""

    blob: bytes
    unwrapping_label: str  # the label of the token AES key the blob is wrapped under
    mechanism: Mechanism  # the AES-KWP mechanism the wrap self-test chose


def import_wrapped(
    session, ref: KeyRef, policy: Policy, token_label: str, wrapped: WrappedKey,
) -> None:
    """Unwrap an RSA PKCS#8 key-transfer blob (AES-KWP under a token AES key) into token key `ref`.

    The unwrapped private key gets the same policy template as a generated one; its public
    half is made from the private object's public attributes (modulus and exponent), so the
    key reads back, fingerprints and exports like a generated key. The token marks it
    LOCAL=false and ALWAYS_SENSITIVE=false, and the record says so.
    """
    require_hsm_thread()
    refuse_existing_label(session, ref.label, token_label)
    unwrappers = find_objects(
        session, {A.CLASS: ObjectClass.SECRET_KEY, A.LABEL: wrapped.unwrapping_label})
    if len(unwrappers) != 1:
        raise TokenError(
            "unwrap-key-not-found",
            f"token {token_label} holds {len(unwrappers)} secret keys labelled "
            f"{wrapped.unwrapping_label!r}; expected exactly one to unwrap key {ref.label!r}",
            "Give the label of the AES key the key-transfer file was wrapped under",
        )
    template = templates.private_template(ref.spec, ref.label, ref.key_id, policy)
    # A private key's template must not name public-key usages (DESIGN.md section 5), and
    # SoftHSM 2.6.1 refuses CKA_MODIFIABLE in an unwrap template (AttributeReadOnly): an
    # imported key stays MODIFIABLE=true, which its attribute snapshot shows.
    template.update({A.ENCRYPT: DEFAULT, A.WRAP: DEFAULT, A.VERIFY: DEFAULT,
                     A.MODIFIABLE: DEFAULT})
    private = unwrappers[0].unwrap_key(
        ObjectClass.PRIVATE_KEY, KeyType.RSA, wrapped.blob, mechanism=wrapped.mechanism,
        template=template,
    )
    _add_rsa_public_half(session, ref, private)
    check_readback(session, ref, token_label)


def _add_rsa_public_half(session, ref: KeyRef, private) -> None:
    public = templates.public_template(ref.spec, ref.label, ref.key_id, None)
    del public[A.MODULUS_BITS]
    public[A.MODULUS] = private[A.MODULUS]
    public[A.PUBLIC_EXPONENT] = private[A.PUBLIC_EXPONENT]
    session.create_object(public)


def adopt(session, ref: KeyRef, token_label: str) -> None:
    """Check a key made before an interruption as if just made; finish an interrupted import.

    An import interrupted between the unwrap and the public half leaves a private RSA key
    alone: its public half is made again from the private object's modulus and exponent.
    """
    require_hsm_thread()
    if ref.spec.kind == "rsa" and not find_objects(
            session, {A.CLASS: ObjectClass.PUBLIC_KEY, A.ID: ref.key_id}):
        _add_rsa_public_half(session, ref, find_one(session, ref, ObjectClass.PRIVATE_KEY,
                                                    token_label))
    check_readback(session, ref, token_label)


def find_by_label(session, label: str, token_label: str) -> KeyRef:
    """Find the one private or secret key labelled `label` and describe it from its attributes."""
    found = [
        obj for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.SECRET_KEY)
        for obj in find_objects(session, {A.CLASS: cls, A.LABEL: label})
    ]
    if len(found) != 1:
        raise BadInputError(
            "key-not-found" if not found else "key-ambiguous",
            f"token {token_label} holds {len(found)} private or secret keys labelled {label!r}",
            "Give the label of exactly one key on the token",
        )
    key = found[0]
    return KeyRef(label=label, key_id=key[A.ID], spec=_spec_of(session, key, token_label))


def _spec_of(session, key, token_label: str) -> KeySpec:
    kind = {KeyType.RSA: "rsa", KeyType.EC: "ec", KeyType.AES: "aes"}.get(key[A.KEY_TYPE])
    if kind is not None:
        measured = _measure(session, kind, key, token_label)
        try:
            return KeySpec(kind, curve=measured) if kind == "ec" else KeySpec(kind, measured)
        except ValueError:
            pass
    raise BadInputError(
        "key-type-unsupported",
        f"key {key[A.LABEL]!r} on token {token_label} is not an RSA 2048/3072/4096, "
        "EC P-256/P-384/P-521/P-256K or AES 128/192/256 key",
        "Azure accepts only those key types",
    )


def check_readback(session, ref: KeyRef, token_label: str) -> None:
    """Read the new key back and check its type and size or curve."""
    key = find_one(session, ref, object_class(ref), token_label)
    expected_type = templates.key_type(ref.spec)
    actual = _measure(session, ref.spec.kind, key, token_label)
    if key[A.KEY_TYPE] != expected_type or actual != (ref.spec.size or ref.spec.curve):
        raise StepFailed(
            "key-readback-mismatch",
            f"key {ref.label!r} on token {token_label} reads back as {key[A.KEY_TYPE].name} "
            f"{actual}, not {ref.spec}",
            "Do not use this key; destroy it and report the token's behaviour",
        )


def _measure(session, kind: str, key, token_label: str):
    """Size in bits (RSA from the public key's modulus, AES) or Azure curve name (EC)."""
    if kind == "aes":
        return key[A.VALUE_LEN] * 8
    found = find_objects(session, {A.CLASS: ObjectClass.PUBLIC_KEY, A.ID: key[A.ID]})
    if len(found) != 1:
        raise TokenError(
            "key-not-found", f"token {token_label} holds {len(found)} public keys for key "
            f"{key[A.LABEL]!r} (CKA_ID {key[A.ID].hex()}); expected exactly one",
            "Check the token's contents against the ceremony journal",
        )
    public = found[0]
    if kind == "rsa":
        return len(public[A.MODULUS]) * 8
    names = {encode_named_curve_parameters(v): k for k, v in templates.CURVE_NAMES.items()}
    return names.get(public[A.EC_PARAMS], "unknown curve")


def public_der(public) -> bytes:
    """SubjectPublicKeyInfo DER of an RSA or EC public-key object."""
    if public[A.KEY_TYPE] == KeyType.RSA:
        numbers = RSAPublicNumbers(
            int.from_bytes(public[A.PUBLIC_EXPONENT], "big"),
            int.from_bytes(public[A.MODULUS], "big"),
        )
        return numbers.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return encode_ec_public_key(public)


def snapshot(key) -> dict[str, object]:
    """The attributes an auditor needs; None where the attribute does not apply to the class."""
    result: dict[str, object] = {}
    for name, attr in SNAPSHOT_ATTRIBUTES:
        try:
            value = key[attr]
        except AttributeTypeInvalid:
            value = None
        result[name] = value.name if hasattr(value, "name") else value
    return result


def facts(session, ref: KeyRef, token_label: str) -> KeyFacts:
    require_hsm_thread()
    key = find_one(session, ref, object_class(ref), token_label)
    if ref.spec.kind == "aes":
        kcv = _check_value(key)
        return KeyFacts(ref, None, kcv, None, snapshot(key))
    der = public_der(find_one(session, ref, ObjectClass.PUBLIC_KEY, token_label))
    return KeyFacts(ref, hashlib.sha256(der).hexdigest(), None, der, snapshot(key))


def _check_value(key) -> str | None:
    try:
        value = key[A.CHECK_VALUE]
    except AttributeTypeInvalid:
        return None
    return value.hex() if value else None


def objects_with_id(session, key_id: bytes) -> list:
    """Every key object (private, secret or public) carrying `key_id`."""
    require_hsm_thread()
    return [
        obj for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.SECRET_KEY, ObjectClass.PUBLIC_KEY)
        for obj in find_objects(session, {A.CLASS: cls, A.ID: key_id})
    ]
