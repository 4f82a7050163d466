"""Secure by default: the Host header must name the controller (DNS rebinding), writes need the token when
one is set, and the settings that say so are validated and kept out of logs."""
import pytest

from controller.settings import Settings
from test_controller_rest import GOOD, FakeService, call

TOKEN = "s3cret-token"


def test_writes_need_the_token_when_one_is_set():
    s = FakeService(rest_token=TOKEN)
    for auth in (None, "Bearer wrong", "Basic czNjcmV0", f"Bearer {TOKEN}x", "Bearer sécret", "Bearer"):
        r = call(s, "POST", "/intents", GOOD, **({"Authorization": auth} if auth else {}))
        assert r.status == 401 and r.body["field"] == "Authorization", (auth, r)
        assert ("WWW-Authenticate", "Bearer") in r.headers
    assert len(s.intents) == 0 and s.changes == 0
    assert call(s, "POST", "/intents", GOOD, Authorization=f"Bearer {TOKEN}").status == 201
    assert call(s, "PUT", "/intents/1", GOOD | {"rate_bps": 5e6}).status == 401
    assert call(s, "DELETE", "/intents/1").status == 401
    assert call(s, "PUT", "/intents/1", GOOD | {"rate_bps": 5e6}, Authorization=f"bearer  {TOKEN} ").status == 200
    assert call(s, "DELETE", "/intents/1", Authorization=f"Bearer {TOKEN}").status == 204
    assert s.changes == 3


def test_reads_stay_open_and_no_token_means_none_is_needed():
    s = FakeService(rest_token=TOKEN)
    assert call(s, "GET", "/intents").status == 200 and call(s, "GET", "/allocations").status == 200
    assert call(FakeService(), "POST", "/intents", GOOD).status == 201


def test_a_wrong_method_is_still_a_405_with_a_token_set():
    assert call(FakeService(rest_token=TOKEN), "PATCH", "/intents/1").status == 405


@pytest.mark.parametrize("host, name", [
    ("evil.example", "evil.example"), ("Evil.Example:8080", "evil.example"), ("127.0.0.2", "127.0.0.2"),
    ("[::2]:8080", "::2"), ("[::1", "[::1"), ("localhost.evil.example", "localhost.evil.example"), ("", ""),
])
def test_a_foreign_host_gets_403_naming_it(host, name):
    s = FakeService()
    for method, body in (("GET", None), ("POST", GOOD)):
        r = call(s, method, "/intents", body, Host=host)
        assert r.status == 403 and r.body["field"] == "Host" and f"host {name!r}" in r.body["error"], (host, r)
    assert len(s.intents) == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8080", "localhost:8080", "LocalHost", "[::1]:8080",
                                  "[::1]"])
def test_loopback_names_are_allowed_by_default(host):
    assert call(FakeService(), "GET", "/intents", Host=host).status == 200


def test_the_host_check_covers_metrics_and_the_dashboard_and_star_allows_any():
    from controller.rest import dispatch

    s = FakeService()
    s.metrics_text = lambda: (b"", "text/plain")
    for path in ("/metrics", "/", "/dashboard/", "/te/v1/nowhere"):
        assert dispatch(s, "GET", path, headers={"host": "rebound.example"}).status == 403
    assert call(FakeService(rest_allowed_hosts="*"), "POST", "/intents", GOOD, Host="te.example:80").status == 201
    named = FakeService(rest_allowed_hosts="te.example,10.1.2.3")
    assert call(named, "GET", "/intents", Host="te.example:8080").status == 200
    assert call(named, "GET", "/intents", Host="localhost").status == 403


def test_settings_for_the_rest_api_are_validated():
    assert Settings().rest_token == "" and Settings().allowed_hosts == {"127.0.0.1", "localhost", "::1"}
    for hosts in ("", "localhost,,::1", "localhost:8080", "[::1]", "a b"):
        with pytest.raises(ValueError, match="rest_allowed_hosts"):
            Settings(rest_allowed_hosts=hosts)
    with pytest.raises(ValueError, match="rest_token") as info:
        Settings(rest_token="has a space")
    assert "has a space" not in str(info.value)


def test_the_token_stays_out_of_the_logged_settings():
    assert TOKEN not in repr(Settings(rest_token=TOKEN)) and TOKEN not in str(Settings(rest_token=TOKEN))


def test_switch_hold_time():
    assert Settings().switch_hold_time == 30.0 and Settings(switch_hold_time=0).switch_hold_time == 0
    with pytest.raises(ValueError, match="switch_hold_time"):
        Settings(switch_hold_time=-1)
