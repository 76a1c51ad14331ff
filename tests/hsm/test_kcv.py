"""The AES key check value the token computes matches a software AES computation.

The comparison needs the key's value, so the test makes its own NON-sensitive, extractable
AES key directly with python-pkcs11 (on the HSM thread); target keys are never readable.
"""

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pkcs11 import Attribute as A
from pkcs11 import KeyType, ObjectClass

from ceremony.hsm import thread
from ceremony.hsm.types import KeyRef
from ceremony.keyspec import KeySpec


def _make_readable_aes_key(session, size):
    key = session.generate_key(
        KeyType.AES, size, label="kcv-test", id=b"\x01" * 16, store=True,
        template={A.SENSITIVE: False, A.EXTRACTABLE: True, A.CLASS: ObjectClass.SECRET_KEY},
    )
    return key[A.VALUE]


@pytest.mark.parametrize("size", [128, 192, 256])
def test_kcv_matches_software_aes_over_a_zero_block(user_service, size):
    value = thread.run(_make_readable_aes_key, user_service._session, size)
    encryptor = Cipher(algorithms.AES(value), modes.ECB()).encryptor()
    expected = (encryptor.update(bytes(16)) + encryptor.finalize())[:3].hex()
    facts = user_service.facts(KeyRef("kcv-test", b"\x01" * 16, KeySpec("aes", size)))
    assert facts.kcv == expected
