"""The rehearsal vault hands out its KEK as `az keyvault key show` prints it, and the tool reads
that file as a KEK with the same kid and fingerprint as the PEM."""

import json

from ceremony.azure.kek import load_kek
from tests.support.rehearsal import make_vault


def test_the_rehearsal_kek_json_loads_as_the_same_kek(token_store, tmp_path):
    vault, kek = make_vault(token_store)
    vault.service.close()
    pem, shown = tmp_path / "kek.pem", tmp_path / "kek.json"
    pem.write_bytes(kek.public_pem)
    shown.write_text(json.dumps(kek.show_json()))
    from_json = load_kek(shown)
    from_pem = load_kek(pem, kek.kid, shown)
    assert from_json.kid.url == kek.kid == from_pem.kid.url
    assert from_json.fingerprint == from_pem.fingerprint
    assert json.loads(shown.read_text())["key"]["keyOps"] == ["import"]
