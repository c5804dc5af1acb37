"""Digest authentication: RFC vectors, header grammar, client <-> server round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.sip.auth import (
    Challenge,
    DigestChallenger,
    DigestClient,
    DigestParseError,
    StoredCredential,
    authorization,
    compute_ha1,
    compute_response,
    parse_challenges,
    parse_credentials,
)

# RFC 7616 §3.9.1
R7616 = {
    "realm": "http-auth@example.org",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
}


@pytest.mark.parametrize(
    ("alg", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_example(alg, expected):
    challenge = (
        f'Digest realm="{R7616["realm"]}", qop="auth, auth-int", algorithm={alg}, '
        f'nonce="{R7616["nonce"]}", opaque="{R7616["opaque"]}"'
    )
    value = authorization(
        challenge, "GET", "/dir/index.html", "Mufasa", "Circle of Life",
        cnonce=R7616["cnonce"], nc=1,
    )  # fmt: skip
    creds = parse_credentials(value)
    assert creds.get("response") == expected
    assert creds.get("qop") == "auth" and creds.get("nc") == "00000001"
    assert creds.get("opaque") == R7616["opaque"] and creds.get("algorithm") == alg
    assert "qop=auth," in value and "nc=00000001" in value  # unquoted in credentials


def test_rfc2617_example():
    ha1 = compute_ha1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    resp = compute_response(
        "MD5", ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "GET", "/dir/index.html",
        qop="auth", nc="00000001", cnonce="0a4f113b",
    )  # fmt: skip
    assert resp == "6629fae49393a05397450978507c4ef1"


def test_rfc2069_no_qop_and_sess_variants():
    ha1 = compute_ha1("MD5", "u", "r", "p")
    legacy = authorization('Digest realm="r", nonce="n"', "REGISTER", "sip:r", "u", "p")
    c = parse_credentials(legacy)
    assert c.get("qop") is None and c.get("cnonce") is None
    assert c.get("response") == compute_response("MD5", ha1, "n", "REGISTER", "sip:r")
    sess = authorization(
        'Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256-sess',
        "INVITE", "sip:x@r", "u", "p", cnonce="cn",
    )  # fmt: skip
    c = parse_credentials(sess)
    ha1_256 = compute_ha1("SHA-256", "u", "r", "p")
    assert c.get("response") == compute_response(
        "SHA-256-sess", ha1_256, "n", "INVITE", "sip:x@r", qop="auth", nc="00000001", cnonce="cn"
    )
    assert c.get("response") != compute_response(
        "SHA-256", ha1_256, "n", "INVITE", "sip:x@r", qop="auth", nc="00000001", cnonce="cn"
    )


def test_parser_quoted_escapes_case_and_multiple_challenges():
    [c] = parse_challenges('digest REALM="a \\"q\\" \\\\ b",  NONCE=abc ,, stale=TRUE')
    assert c.scheme == "digest"
    assert c.get("realm") == 'a "q" \\ b' and c.get("nonce") == "abc" and c.get("stale") == "TRUE"
    two = parse_challenges('Digest realm="a", nonce="1", Digest realm="a", nonce="2"')
    assert [x.get("nonce") for x in two] == ["1", "2"]
    multi = parse_challenges('Basic realm="x", Digest realm="y", nonce="z"')
    assert [x.scheme for x in multi] == ["Basic", "Digest"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ('realm="x"', "before the auth scheme"),
        ('Digest realm="x', "unterminated"),
        ("Digest realm=", "missing value"),
        ('Digest realm="a" nonce="b"', "expected ','"),
        ('Digest realm="a", realm="b"', "duplicate"),
        ("Digest realm=a, (x)", "unexpected character"),
    ],
)
def test_parser_errors(value, fragment):
    with pytest.raises(DigestParseError) as ei:
        parse_challenges(value)
    assert fragment in ei.value.reason


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


USERS = {"alice": "wonderland", "bob": "builder"}
URI = "sip:example.org"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def server(clock):
    return DigestChallenger("example.org", b"k" * 32, clock, nonce_ttl=300)


def test_challenge_values_sha256_first_with_opaque(server):
    values = server.challenge()
    chs = [parse_challenges(v)[0] for v in values]
    assert [c.algorithm for c in chs] == ["SHA-256", "MD5"]
    assert all(c.get("opaque") and c.get("qop") == "auth" for c in chs)
    assert chs[0].get("nonce") == chs[1].get("nonce")
    assert 'qop="auth"' in values[0]
    assert server.challenge_header == "WWW-Authenticate" and server.status == 401
    assert "stale=true" in server.challenge(stale=True)[0]
    assert server.challenge()[0] != values[0]  # fresh nonce each time


@pytest.mark.parametrize("prefer_md5", [False, True])
def test_round_trip_ok(server, prefer_md5):
    values = server.challenge()
    if prefer_md5:
        values = values[1:]
    client = DigestClient("alice", "wonderland")
    value = client.authorize(values, "REGISTER", URI)
    res = server.verify(value, "REGISTER", USERS, request_uri=URI)
    assert res.ok and res.username == "alice"
    assert res.algorithm == ("MD5" if prefer_md5 else "SHA-256")
    # the same client reuses the nonce with nc=2
    value2 = client.authorize(values, "REGISTER", URI)
    assert "nc=00000002" in value2
    assert server.verify(value2, "REGISTER", USERS, request_uri=URI).ok


def test_stored_ha1_and_callable_lookup(server):
    ha1 = compute_ha1("SHA-256", "carol", "example.org", "secret")
    store = {"carol": StoredCredential(ha1={"SHA-256": ha1})}
    value = DigestClient("carol", "secret").authorize(server.challenge(), "INVITE", "sip:1@x")
    assert server.verify(value, "INVITE", store.get).ok
    md5_only = DigestClient("carol", "secret").authorize(server.challenge()[1:], "INVITE", "sip:1")
    res = server.verify(md5_only, "INVITE", store)
    assert not res.ok and res.reason == "algorithm not offered"


def test_wrong_password_unknown_user_bad_realm(server, clock):
    bad = DigestClient("alice", "nope").authorize(server.challenge(), "REGISTER", URI)
    assert server.verify(bad, "REGISTER", USERS).reason == "bad response"
    who = DigestClient("mallory", "x").authorize(server.challenge(), "REGISTER", URI)
    assert server.verify(who, "REGISTER", USERS).reason == "unknown user"
    other = DigestChallenger("evil.org", b"k" * 32, clock)
    realm = DigestClient("alice", "wonderland").authorize(other.challenge(), "REGISTER", URI)
    assert server.verify(realm, "REGISTER", USERS).reason == "bad realm"


def test_method_uri_and_body_are_covered(server):
    value = DigestClient("alice", "wonderland").authorize(server.challenge(), "REGISTER", URI)
    assert server.verify(value, "INVITE", USERS).reason == "bad response"
    assert server.verify(value, "REGISTER", USERS, request_uri="sip:other").reason == (
        "uri mismatch"
    )


def test_stale_after_expiry_then_fresh_challenge_works(server, clock):
    values = server.challenge()
    client = DigestClient("alice", "wonderland")
    clock.t += 301
    res = server.verify(client.authorize(values, "REGISTER", URI), "REGISTER", USERS)
    assert not res.ok and res.reason == "stale" and res.stale
    rechallenge = server.challenge(stale=res.stale)
    assert parse_challenges(rechallenge[0])[0].get("stale") == "true"
    ok = server.verify(client.authorize(rechallenge, "REGISTER", URI), "REGISTER", USERS)
    assert ok.ok
    bad = DigestClient("alice", "wrong").authorize(values, "REGISTER", URI)
    res = server.verify(bad, "REGISTER", USERS)
    assert res.reason == "nonce expired" and not res.stale


def test_nonces_survive_restart_and_are_not_forgeable(server, clock):
    value = DigestClient("alice", "wonderland").authorize(server.challenge(), "REGISTER", URI)
    restarted = DigestChallenger("example.org", b"k" * 32, clock)
    assert restarted.verify(value, "REGISTER", USERS).ok
    other_key = DigestChallenger("example.org", b"z" * 32, clock)
    assert other_key.verify(value, "REGISTER", USERS).reason == "bad nonce"
    forged = authorization(
        'Digest realm="example.org", nonce="AAAA", qop="auth", algorithm=SHA-256',
        "REGISTER", URI, "alice", "wonderland",
    )  # fmt: skip
    assert server.verify(forged, "REGISTER", USERS).reason == "bad nonce"


def test_nc_replay_rejected(server):
    values = server.challenge()
    value = authorization(
        parse_challenges(values[0])[0], "REGISTER", URI, "alice", "wonderland", nc=1, cnonce="c"
    )
    assert server.verify(value, "REGISTER", USERS).ok
    assert server.verify(value, "REGISTER", USERS).reason == "nc replay"
    lower = authorization(
        parse_challenges(values[0])[0], "REGISTER", URI, "alice", "wonderland", nc=5, cnonce="c"
    )
    assert server.verify(lower, "REGISTER", USERS).ok
    again = authorization(
        parse_challenges(values[0])[0], "REGISTER", URI, "alice", "wonderland", nc=3, cnonce="c"
    )
    assert server.verify(again, "REGISTER", USERS).reason == "nc replay"


def test_replay_memory_is_bounded_and_evicted_nonces_go_stale(clock):
    srv = DigestChallenger("example.org", b"k" * 32, clock, max_tracked_nonces=3)
    first = DigestClient("alice", "wonderland").authorize(srv.challenge(), "REGISTER", URI)
    assert srv.verify(first, "REGISTER", USERS).ok
    clock.t += 1
    for _ in range(5):
        v = DigestClient("alice", "wonderland").authorize(srv.challenge(), "REGISTER", URI)
        assert srv.verify(v, "REGISTER", USERS).ok
    assert srv.tracked_nonces == 3
    res = srv.verify(first, "REGISTER", USERS)  # its nc record is gone: must not be accepted
    assert not res.ok and res.stale


def test_qop_missing_and_legacy_server(clock, server):
    legacy_value = authorization(
        Challenge(
            "Digest", {"realm": "example.org", "nonce": server.new_nonce(), "algorithm": "MD5"}
        ),
        "REGISTER", URI, "alice", "wonderland",
    )  # fmt: skip
    assert server.verify(legacy_value, "REGISTER", USERS).reason == "qop missing"
    legacy_srv = DigestChallenger("example.org", b"k" * 32, clock, qop=None, algorithms=("MD5",))
    ch = legacy_srv.challenge()
    assert len(ch) == 1 and "qop" not in ch[0]
    value = DigestClient("alice", "wonderland").authorize(ch, "REGISTER", URI)
    assert "cnonce" not in value
    assert legacy_srv.verify(value, "REGISTER", USERS).ok
    sha = DigestClient("alice", "wonderland").authorize(server.challenge(), "REGISTER", URI)
    assert legacy_srv.verify(sha, "REGISTER", USERS).reason == "algorithm not offered"


def test_malformed_authorization(server):
    assert server.verify("Basic YWxhZGRpbjpvcGVu", "REGISTER", USERS).reason == "malformed"
    assert server.verify('Digest username="alice', "REGISTER", USERS).reason == "malformed"
    assert server.verify('Digest username="alice"', "REGISTER", USERS).reason == "malformed"


def test_proxy_mode_headers(clock):
    p = DigestChallenger("example.org", b"k" * 32, clock, proxy=True)
    assert (p.challenge_header, p.credentials_header, p.status) == (
        "Proxy-Authenticate", "Proxy-Authorization", 407
    )  # fmt: skip


def test_client_choose_prefers_strongest():
    chosen = DigestClient.choose(
        ['Digest realm="r", nonce="1", algorithm=MD5', 'Digest realm="r", nonce="2", algorithm=SHA-256',
         'Digest realm="r", nonce="3", algorithm=UNKNOWN']
    )  # fmt: skip
    assert chosen.get("nonce") == "2"
    with pytest.raises(ValueError):
        DigestClient.choose(['Basic realm="r"'])


def _pyvoip_client():
    # pyVoIP 1.6.8 has an import cycle: pyVoIP.VoIP must be imported before pyVoIP.SIP
    pytest.importorskip("pyVoIP.VoIP")
    from pyVoIP import SIP

    return SIP, SIP.SIPClient("example.org", 5060, "alice", "wonderland", phone=None,
                              myIP="127.0.0.1", myPort=5070)  # fmt: skip


def _401(values):
    head = "".join(f"WWW-Authenticate: {v}\r\n" for v in values)
    return (
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa\r\n"
        "From: <sip:alice@example.org>;tag=1\r\nTo: <sip:alice@example.org>;tag=2\r\n"
        f"Call-ID: reg1\r\nCSeq: 1 REGISTER\r\n{head}Content-Length: 0\r\n\r\n"
    ).encode()


def test_real_pyvoip_client_registers_against_challenger(clock):
    """pyVoIP 1.6.8's own digest code answers our challenge (MD5, no qop)."""
    sip, client = _pyvoip_client()
    server = DigestChallenger("example.org", b"k" * 32, clock, require_qop=False)
    register = client.gen_register(sip.SIPMessage(_401(server.challenge())))
    [auth] = [ln.split(":", 1)[1].strip() for ln in register.split("\r\n")
              if ln.startswith("Authorization:")]  # fmt: skip
    uri = parse_credentials(auth).get("uri")
    assert server.verify(auth, "REGISTER", USERS, request_uri=uri).ok
    strict = DigestChallenger("example.org", b"k" * 32, clock)
    assert strict.verify(auth, "REGISTER", USERS).reason == "qop missing"
    wrong = DigestChallenger("example.org", b"k" * 32, clock, require_qop=False)
    assert wrong.verify(auth, "REGISTER", {"alice": "other"}).reason == "bad response"


# -- properties ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parser_never_crashes(value):
    try:
        parse_challenges(value)
    except DigestParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
)
def test_quoted_values_roundtrip(realm, nonce):
    from callcore.sip.auth import format_params

    value = format_params("Digest", [("realm", realm), ("nonce", nonce)], quote_qop=True)
    [c] = parse_challenges(value)
    assert (c.get("realm"), c.get("nonce")) == (realm, nonce)
