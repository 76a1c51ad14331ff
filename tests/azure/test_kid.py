"""Kid parsing: every cloud and vault kind, and each refusal with its exact line."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.azure.kid import HOST_SUFFIXES, Kid, parse_kid
from ceremony.errors import BadInputError, ExitCode

V = "0123456789abcdef0123456789abcdef"
HOW = "Copy the versioned kid that `az keyvault key show --query key.kid` prints for the KEK"
NAME_RULE = (
    "A vault or Managed HSM name is 3-24 letters, digits and hyphens, starts with a letter, "
    "ends with a letter or digit and has no double hyphen"
)
HOSTS = (
    "A kid's host is <name>.vault.azure.net, <name>.managedhsm.azure.net, "
    "<name>.vault.usgovcloudapi.net, <name>.managedhsm.usgovcloudapi.net, "
    "<name>.vault.azure.cn, <name>.managedhsm.azure.cn"
)


@pytest.mark.parametrize(
    ("host", "kind", "cloud"),
    [
        ("contoso.vault.azure.net", "vault", "public"),
        ("contoso.managedhsm.azure.net", "managedhsm", "public"),
        ("contoso.vault.usgovcloudapi.net", "vault", "usgov"),
        ("contoso.managedhsm.usgovcloudapi.net", "managedhsm", "usgov"),
        ("contoso.vault.azure.cn", "vault", "china"),
        ("contoso.managedhsm.azure.cn", "managedhsm", "china"),
    ],
)
def test_each_cloud_and_vault_kind(host, kind, cloud):
    url = f"https://{host}/keys/ceremony-kek-1/{V}"
    assert parse_kid(url) == Kid(
        url=url,
        vault_kind=kind,
        vault_name="contoso",
        host=host,
        cloud=cloud,
        key_name="ceremony-kek-1",
        version=V,
    )


def test_canonical_url_lowercases_scheme_and_host_and_drops_surrounding_space():
    kid = parse_kid(f"  HTTPS://Contoso-KV.Vault.Azure.Net/keys/KEK/{V}\n")
    assert kid.url == f"https://contoso-kv.vault.azure.net/keys/KEK/{V}"
    assert (kid.vault_name, kid.key_name, str(kid)) == ("contoso-kv", "KEK", kid.url)


def test_vault_name_limits():
    assert parse_kid(f"https://abc.vault.azure.net/keys/k/{V}").vault_name == "abc"
    name = "a" + "b1-" * 7 + "cd"
    assert len(name) == 24
    assert parse_kid(f"https://{name}.vault.azure.net/keys/k/{V}").vault_name == name


def test_key_name_limits():
    assert parse_kid(f"https://abc.vault.azure.net/keys/{'k' * 127}/{V}").key_name == "k" * 127


def refused(text: str) -> BadInputError:
    with pytest.raises(BadInputError) as caught:
        parse_kid(text)
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    return caught.value


@pytest.mark.parametrize(
    "text",
    [f"http://contoso.vault.azure.net/keys/k/{V}", f"contoso.vault.azure.net/keys/k/{V}"],
)
def test_not_https(text):
    err = refused(text)
    assert err.code == "kek-kid-not-https"
    assert err.line() == f"ceremony: error: KEK kid {text} is not an https URL. {HOW}"


@pytest.mark.parametrize(
    "text",
    ["https://contoso.vault.azure.net/keys/kek", "https://contoso.vault.azure.net/keys/kek/"],
)
def test_unversioned(text):
    err = refused(text)
    assert err.code == "kek-kid-unversioned"
    assert err.line() == (
        f"ceremony: error: KEK kid {text} has no key version. Give the versioned kid "
        "(it ends in /<32 hex digits>), as `az keyvault key show --query key.kid` prints it"
    )


@pytest.mark.parametrize(
    "host",
    [
        "x.vault.azure.net.evil.example",
        "contoso.vault.azure.net.",
        "contosovault.azure.net",
        "vault.azure.net",
        "contoso.vault.azure.com",
        "contoso.managedhsm.azure.de",
        "",
    ],
)
def test_foreign_host(host):
    text = f"https://{host}/keys/k/{V}"
    err = refused(text)
    assert err.code == "kek-kid-foreign-host"
    assert err.line() == (
        f"ceremony: error: KEK kid {text} names host {host or '(none)'}, which is not an Azure "
        f"Key Vault or Managed HSM host. {HOSTS}"
    )


@pytest.mark.parametrize(
    "name", ["ab", "1contoso", "contoso-", "con--toso", "con.toso", "a" * 25, "con_toso"]
)
def test_vault_name_against_azure_rules(name):
    text = f"https://{name}.vault.azure.net/keys/k/{V}"
    err = refused(text)
    assert err.code == "kek-kid-invalid"
    assert err.line() == (
        f"ceremony: error: KEK kid {text} has vault name '{name}', which Azure does not allow. "
        f"{NAME_RULE}"
    )


B = "https://contoso.vault.azure.net"
KEY_NAME_RULE = "which is not 1-127 letters, digits and hyphens"
NOT_32_HEX = "which is not 32 hex digits"
PATH_RULE = "does not have the path /keys/<name>/<version>"


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (f"https://me@contoso.vault.azure.net/keys/k/{V}", "carries user information"),
        (f"https://contoso.vault.azure.net:443/keys/k/{V}", "names a port"),
        (f"{B}/keys/k/{V}?api-version=7.4", "carries a query or fragment"),
        (f"{B}/keys/k/{V}#x", "carries a query or fragment"),
        (f"{B}/secrets/k/{V}", PATH_RULE),
        (f"{B}/keys/k/{V}/", PATH_RULE),
        (f"{B}/keys/k/{V}/extra", PATH_RULE),
        (f"{B}/keys/k_1/{V}", f"has key name 'k_1', {KEY_NAME_RULE}"),
        (f"{B}/keys/{'k' * 128}/{V}", f"has key name '{'k' * 128}', {KEY_NAME_RULE}"),
        (f"{B}/keys/k/0123", f"has key version '0123', {NOT_32_HEX}"),
        (f"{B}/keys/k/{V[:-1]}g", f"has key version '{V[:-1]}g', {NOT_32_HEX}"),
        ("https://[::1/keys/k", "is not a URL"),
        (f"https://contoso.vault.azure.net/\u212aeys/k/{V}", "contains characters outside ASCII"),
    ],
)
def test_invalid(text, what):
    err = refused(text)
    assert err.code == "kek-kid-invalid"
    assert err.line() == f"ceremony: error: KEK kid {text} {what}. {HOW}"


def test_empty_and_embedded_space():
    assert refused("  ").line() == f"ceremony: error: KEK kid is empty. {HOW}"
    text = f"https://contoso.vault.azure.net/keys/k/{V[:5]}\n{V[5:]}"
    assert refused(text).line() == (
        f"ceremony: error: KEK kid {text!r} contains spaces or control characters. {HOW}"
    )


@given(st.text(max_size=120))
def test_any_text_is_a_kid_or_one_line_refusal(text):
    try:
        kid = parse_kid(text)
    except BadInputError as err:
        assert "\n" not in err.line()
    else:
        assert any(kid.host.endswith("." + suffix) for suffix, _, _ in HOST_SUFFIXES)
        assert parse_kid(kid.url) == kid


@given(
    st.sampled_from([s for s, _, _ in HOST_SUFFIXES]),
    st.from_regex(r"[a-z0-9.-]{1,20}", fullmatch=True),
)
def test_suffix_must_follow_a_dot_and_end_the_host(suffix, tail):
    text = f"https://contoso.{suffix}.{tail}/keys/k/{V}"
    assert refused(text).code in ("kek-kid-foreign-host", "kek-kid-invalid")
