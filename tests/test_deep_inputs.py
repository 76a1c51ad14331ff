"""Inputs nested deeper than the parser can follow are bad input, not internal errors."""

from ceremony.cli import main

DEEP_JSON = "[" * 200_000


def test_a_deeply_nested_byok_file(tmp_path, capsys):
    (tmp_path / "deep.byok").write_text(DEEP_JSON)
    assert main(["byok", "check", str(tmp_path / "deep.byok")]) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: BYOK file {tmp_path / 'deep.byok'} is not valid JSON. Make the "
        "package again\n"
    )


def test_a_deeply_nested_kek_json(tmp_path, capsys):
    (tmp_path / "deep.json").write_text('{"key": ' * 8_000)  # under the 64 KiB cap
    assert main(["kek", "inspect", str(tmp_path / "deep.json")]) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: KEK file {tmp_path / 'deep.json'} is not valid JSON. Save the output "
        "of `az keyvault key show --id <kid>` as it is printed\n")


def test_a_deeply_nested_plan(tmp_path, capsys):
    (tmp_path / "plan.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    assert main(["plan", "check", str(tmp_path / "plan.toml")]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"ceremony: error: {tmp_path / 'plan.toml'}: toml: tables or values are nested more "
        "than 32 levels deep")
