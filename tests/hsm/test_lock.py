"""One ceremony per token: the lock file turns a second process away with exit code 3."""

import os
import subprocess
import sys

import pytest

from ceremony.errors import TokenError
from ceremony.hsm.service import HsmService
from tests.conftest import MODULE, TOKEN
from tests.support import ceremony_cli

HOLDER = f"""
import sys
from ceremony.hsm.service import HsmService
service = HsmService({str(MODULE)!r})
service.select(label={TOKEN!r})
print("locked", flush=True)
sys.stdin.readline()
service.close()
"""



def test_second_process_is_refused_with_the_holders_pid(token_store):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], env=token_store.env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        second = ceremony_cli(token_store.env, "token", "info", "--token", TOKEN)
        assert second.returncode == 3
        assert second.stderr == (
            f"ceremony: error: token {TOKEN} is in use by process {holder.pid}. Wait for that "
            "ceremony to finish, or stop it; two runs never share a token\n"
        )
        assert "Traceback" not in second.stderr
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    # Released on close: the next run gets the token.
    assert ceremony_cli(token_store.env, "token", "info", "--token", TOKEN).returncode == 0


def test_lock_is_released_when_the_holder_dies(token_store):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], env=token_store.env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert holder.stdout.readline() == "locked\n"
    holder.kill()
    holder.wait()
    assert ceremony_cli(token_store.env, "token", "info", "--token", TOKEN).returncode == 0


def test_second_service_in_the_same_process_is_refused(service, token_store):
    other = HsmService(MODULE, token_store.env)
    with pytest.raises(TokenError) as caught:
        other.select(label=TOKEN)
    assert caught.value.code == "token-in-use"
    assert f"in use by process {os.getpid()}" in caught.value.message


def test_a_lock_directory_others_can_write_is_refused(token_store, tmp_path):
    shared = tmp_path / "shared-locks"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    service = HsmService(MODULE, {**token_store.env, "CMK_CEREMONY_LOCK_DIR": str(shared)})
    with pytest.raises(TokenError) as caught:
        service.select(label=TOKEN)
    assert caught.value.line() == (
        f"ceremony: error: lock directory {shared} is not a directory private to this user "
        f"(owner uid {os.getuid()}, mode 0777). Remove it, or set CMK_CEREMONY_LOCK_DIR to a "
        "directory only you can write (0700)"
    )
