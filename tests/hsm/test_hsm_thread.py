"""No HSM call runs outside the HSM thread, whichever thread or event loop asks."""

import asyncio
import sys
import threading

from ceremony.hsm.service import HsmService, thread
from ceremony.hsm.templates import Policy
from ceremony.keyspec import KeySpec
from ceremony.secret import SecretPin
from tests.conftest import MODULE, TOKEN, USER_PIN


def _workload(env):
    service = HsmService(MODULE, env)
    service.tokens()
    service.select(label=TOKEN)
    service.login(SecretPin(USER_PIN))
    ref = service.generate(KeySpec("ec", curve="P-256"), "threaded", Policy.TRUSTED)
    service.facts(ref)
    service.info()
    return service, ref


def test_every_pkcs11_frame_runs_on_the_hsm_thread(token_store):
    seen = []

    def profile(frame, event, arg):
        if (event == "call" and "pkcs11" in frame.f_code.co_filename
                and frame.f_code.co_name != "<module>"):
            seen.append((threading.current_thread().name, frame.f_code.co_name))

    sys.setprofile(profile)
    threading.setprofile(profile)
    thread.run(sys.setprofile, profile)  # the HSM thread already runs: hook it from inside
    try:
        service, ref = _workload(token_store.env)
        asyncio.run(service.call(service.facts, ref))
        service.close()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
        thread.run(sys.setprofile, None)
    assert seen, "the profile hook saw no pkcs11 code: the test would prove nothing"
    assert any(name.startswith("hsm_") for name, _ in seen)
    assert [call for call in seen if not call[0].startswith("hsm_")] == []


def test_pkcs11_code_refuses_to_run_off_the_hsm_thread():
    try:
        thread.require_hsm_thread()
    except RuntimeError as error:
        assert str(error) == "PKCS#11 call attempted outside the HSM thread"
    else:
        raise AssertionError("require_hsm_thread passed on the main thread")
    thread.run(thread.require_hsm_thread)
