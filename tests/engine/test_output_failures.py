"""What goes wrong on the output side: full or read-only media, a vanished directory, /proc, a
file or a dangling link in the way, an unusable lock directory, a label already on the token.

Each ends in one line naming the path and the fix with its exit code (2 for the output, 3 for
the token and its lock), and `plan check` reports the same before anyone gathers. Full and
read-only media are real: a small tmpfs mounted for the test, filled or remounted read-only
by the "person" at the terminal (the TTY operator with scripted answers) at the first question.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.commands.tty import TtyOperator
from ceremony.engine.ceremony import KILL_HOOK, Engine
from ceremony.errors import BadInputError, CeremonyError, ExitCode
from ceremony.files import write_all_exclusive
from ceremony.hsm.templates import Policy
from ceremony.keyspec import KeySpec
from ceremony.plan.load import load_plan
from tests.conftest import PIN_ENV, TOKEN, logged_in, token_labels
from tests.support.journal_forgery import lines_of
from tests.support.rehearsal import small_plan

ANSWERS = ["yes", "yes", "yes", "Ada", "Wes", "Yes"]  # small_plan, answered by people


@pytest.fixture
def media(tmp_path):
    """A real 4 MiB tmpfs for the test (the CI machine runs as root, which may mount)."""
    mount = tmp_path / "media"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mount)],
                   check=True, capture_output=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True, capture_output=True)


def plan_with_output(tmp_path, kek, output: str) -> Path:
    plan = small_plan(tmp_path / "plan", kek)
    plan.write_text(plan.read_text().replace('directory = "out"', f'directory = "{output}"'))
    return plan


def fill(directory: Path) -> Path:
    """Write zeros until the device is full; the file that did it."""
    filler = directory / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def run_with_people(plan: Path, env, at_first_question) -> CeremonyError:
    """Run the plan with people at a terminal; `at_first_question` happens before the first
    answer. Returns the error that stopped the run."""
    answers = iter(ANSWERS)
    asked = []

    async def ask(text):
        if not asked:
            at_first_question()
        asked.append(text)
        return next(answers) + "\n"

    operator = TtyOperator(ask, lambda text: None, env)
    with pytest.raises(CeremonyError) as caught:
        asyncio.run(Engine(load_plan(plan), operator, env=env).run())
    return caught.value


def test_a_device_that_fills_up_mid_ceremony(tmp_path, media, vault_kek, token_store):
    plan = plan_with_output(tmp_path, vault_kek, str(media))
    env = {**token_store.env, **PIN_ENV}
    directory = media / "small"
    filler = []
    error = run_with_people(plan, env, lambda: filler.append(fill(media)))
    assert (error.line(), error.exit_code) == (
        f"ceremony: error: no space left on the device holding {directory}. Free space on that "
        "device, or use other media", ExitCode.BAD_INPUT)
    assert not [p for p in directory.rglob("*") if p.name.endswith(".part")]
    filler[0].unlink()  # the person frees space, then resumes
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 0
    assert main(["verify", str(directory), "--unpinned"]) == 0
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]


def test_the_one_write_layer_leaves_nothing_on_a_full_device(media):
    with pytest.raises(BadInputError) as caught:
        write_all_exclusive({media / "small.txt": b"x" * 1024,
                             media / "large.bin": b"\0" * (8 << 20)})
    assert caught.value.line() == (
        f"ceremony: error: no space left on the device holding {media}. Free space on that "
        "device, or use other media")
    assert list(media.iterdir()) == []


def test_read_only_media_at_resume(tmp_path, media, vault_kek, token_store, capsys):
    plan = plan_with_output(tmp_path, vault_kek, str(media))
    env = {**token_store.env, **PIN_ENV}
    killed = subprocess.run([sys.executable, "-m", "ceremony", "run", str(plan), "--yes"],
                            env={**env, KILL_HOOK: "18"}, capture_output=True, text=True)
    assert killed.returncode == -9
    directory = media / "small"
    before = (directory / "journal.jsonl").read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(media)], check=True)
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: {directory} is on a read-only file system. Use writable media "
        "(check its write-protect switch)\n")
    subprocess.run(["mount", "-o", "remount,rw", str(media)], check=True)
    assert (directory / "journal.jsonl").read_bytes() == before
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 0


def test_the_output_directory_removed_mid_ceremony(tmp_path, vault_kek, token_store):
    """The media is pulled at the first question: the export finds no directory, and never
    makes a new one to write the package into."""
    plan = small_plan(tmp_path / "plan", vault_kek)
    env = {**token_store.env, **PIN_ENV}
    directory = tmp_path / "plan" / "out" / "small"
    error = run_with_people(plan, env, lambda: shutil.rmtree(directory))
    assert (error.line(), error.exit_code) == (
        f"ceremony: error: {directory / 'keys'} does not exist (removed, or its media "
        "unplugged?). Reconnect the media, or choose an existing directory", ExitCode.BAD_INPUT)
    assert not directory.exists()
    # The key made before the media went is on the token, as the lost journal said.
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]


@pytest.mark.parametrize(("output", "problem"), [
    ("/proc", "/proc does not take new files (is it /proc, /sys or another pseudo file system?)."
              " Choose a directory on real storage"),
    ("file/sub", "{base}/file is a file, so {base}/file/sub/small cannot be made. Name a "
                 "directory in output.directory"),
    ("link", "{base}/link is a symbolic link that leads nowhere. Name an existing directory in "
             "output.directory"),
])
def test_an_unusable_output_is_found_by_plan_check_and_run(tmp_path, vault_kek, token_store,
                                                           capsys, output, problem):
    plan = plan_with_output(tmp_path, vault_kek, output)
    base = plan.parent
    (base / "file").write_text("not a directory")
    (base / "link").symlink_to(base / "missing")
    line = f"ceremony: error: {problem.format(base=base)}\n"
    assert main(["plan", "check", str(plan)], env=token_store.env) == 2
    captured = capsys.readouterr()
    assert captured.err == line
    assert "Not ready: 1 problem(s), listed on stderr" in captured.out
    assert main(["run", str(plan), "--yes"], env={**token_store.env, **PIN_ENV}) == 2
    assert capsys.readouterr().err == line
    assert sorted(p.name for p in base.iterdir()) == ["file", "kek.pem", "link", "plan.toml"]


def test_a_device_with_too_little_room_is_not_ready(tmp_path, media, vault_kek, token_store,
                                                    capsys):
    plan = plan_with_output(tmp_path, vault_kek, str(media))
    filler = fill(media)
    os.truncate(filler, filler.stat().st_size - (512 << 10))  # leave 512 KiB
    assert main(["plan", "check", str(plan)], env=token_store.env) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ceremony: error: the device holding {media} has ")
    assert err.endswith(" KiB free; a ceremony needs at least 1024 KiB. Free space on that "
                        "device, or use other media\n")


@pytest.mark.parametrize(("make", "what"), [
    (lambda path: path.write_text("x"), "is a file, not a directory"),
    (lambda path: path.symlink_to(path.parent), "is a symbolic link"),
])
def test_an_unusable_lock_directory(tmp_path, vault_kek, token_store, capsys, make, what):
    plan = small_plan(tmp_path / "plan", vault_kek)
    locks = tmp_path / "not-a-lock-dir"
    make(locks)
    env = {**token_store.env, **PIN_ENV, "CMK_CEREMONY_LOCK_DIR": str(locks)}
    line = (f"ceremony: error: lock directory {locks} {what}. Remove it, or set "
            "CMK_CEREMONY_LOCK_DIR to a directory only you can write (0700)\n")
    for command in (["plan", "check", str(plan)], ["run", str(plan), "--yes"]):
        assert main(command, env=env) == 3
        assert capsys.readouterr().err == line
    assert not (plan.parent / "out").exists()


def test_a_taken_label_is_found_before_the_directory_is_made(tmp_path, vault_kek, token_store,
                                                             capsys):
    plan = small_plan(tmp_path / "plan", vault_kek)
    service = logged_in(token_store)
    service.generate(KeySpec("rsa", 2048), "cmk-disks", Policy.EXTRACTABLE)
    service.close()
    assert main(["run", str(plan), "--yes"], env={**token_store.env, **PIN_ENV}) == 3
    assert capsys.readouterr().err == (
        f"ceremony: error: label 'cmk-disks' of key disks is already taken on token {TOKEN}. "
        "Choose a new label in the plan; the tool never reuses or overwrites a key\n")
    assert not (plan.parent / "out").exists()


def test_a_full_keys_directory_is_journaled_as_the_step_that_failed(tmp_path, vault_kek,
                                                                    token_store):
    """Only keys/ fills up (a 64 KiB tmpfs mounted over it at the first question), so the
    journal beside it can still say why the run stopped; the person makes room and resumes."""
    plan = small_plan(tmp_path / "plan", vault_kek)
    env = {**token_store.env, **PIN_ENV}
    directory = tmp_path / "plan" / "out" / "small"
    keys = directory / "keys"

    def keys_fill_up():
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(keys)],
                       check=True, capture_output=True)
        fill(keys)

    try:
        error = run_with_people(plan, env, keys_fill_up)
        assert (error.line(), error.exit_code) == (
            f"ceremony: error: no space left on the device holding {keys}. Free space on that "
            "device, or use other media", ExitCode.BAD_INPUT)
        last = lines_of(directory)[-1]
        assert (last["type"], last["data"]["code"]) == ("step-failed", "output-no-space")
        assert sorted(p.name for p in keys.iterdir()) == ["filler"]
    finally:
        subprocess.run(["umount", "-l", str(keys)], check=True, capture_output=True)
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 0
    assert main(["verify", str(directory), "--unpinned"]) == 0
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]
