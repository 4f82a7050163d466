"""Request bodies the REST API must refuse with a 4xx naming the problem, never a 500 or a silent guess."""
from io import BytesIO

import pytest

from controller.rest import MAX_BODY_BYTES, ApiError, read_body
from test_controller_rest import GOOD, JSON, FakeService, call


def refused(r, status, field=None):
    return r.status == status and isinstance(r.body["error"], str) and r.body.get("field") == field


def test_deep_json_is_a_400_not_a_recursion_error(caplog):
    s = FakeService()
    r = call(s, "POST", "/intents", b"[" * 10000)
    assert refused(r, 400) and "nested 10000 levels" in r.body["error"], r.body
    assert refused(call(s, "POST", "/intents", b"[" * 33 + b"]" * 33), 400)
    assert "Traceback" not in caplog.text and len(s.intents) == 0


def test_brackets_inside_strings_do_not_count_as_nesting():
    r = call(FakeService(), "POST", "/intents", GOOD | {"src": "[" * 100})
    assert refused(r, 400, "src")


@pytest.mark.parametrize("raw, field", [
    (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1000000, "rate_bps": 2000000}', "rate_bps"),
    (b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1e6, "match": {"ip_proto": 17, "ip_proto": 6}}',
     "match.ip_proto"),
])
def test_a_key_given_twice_is_refused_naming_it(raw, field):
    s = FakeService()
    r = call(s, "POST", "/intents", raw)
    assert refused(r, 400, field) and repr(field.rsplit(".", 1)[-1]) in r.body["error"], r.body
    assert len(s.intents) == 0


def test_a_name_ending_in_a_newline_is_refused():
    s = FakeService()
    assert refused(call(s, "POST", "/intents", GOOD | {"name": "web\n"}), 400, "name")
    assert call(s, "POST", "/intents", GOOD | {"name": "web"}).status == 201


@pytest.mark.parametrize("rate", [999, 1e-300, 0.5])
def test_rates_below_what_a_meter_enforces_are_refused(rate):
    s = FakeService()
    r = call(s, "POST", "/intents", GOOD | {"rate_bps": rate})
    assert refused(r, 400, "rate_bps")
    assert r.body["error"] == ("rate_bps must be at least 1000 bit/s (the smallest rate a switch meter enforces) "
                               f"and at most 1e+12, not {rate!r}")
    assert len(s.intents) == 0


def test_the_smallest_enforceable_rate_is_accepted():
    assert call(FakeService(), "POST", "/intents", GOOD | {"rate_bps": 1000}).status == 201


def test_a_chunked_body_is_read_whole():
    body = b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4000000}'
    assert read_body({"wsgi.input": BytesIO(body), "HTTP_TRANSFER_ENCODING": "chunked"}) == body
    # Bounded: one byte more than allowed is enough for the 413.
    big = {"wsgi.input": BytesIO(b" " * (2 * MAX_BODY_BYTES)), "HTTP_TRANSFER_ENCODING": "Chunked"}
    assert len(read_body(big)) == MAX_BODY_BYTES + 1
    announced = {"wsgi.input": BytesIO(b" " * (2 * MAX_BODY_BYTES)), "CONTENT_LENGTH": str(2 * MAX_BODY_BYTES)}
    assert len(read_body(announced)) == MAX_BODY_BYTES + 1


def test_a_body_that_cannot_be_read_is_a_400():
    class Broken:
        def read(self, n):
            raise ValueError("invalid literal for int() with base 16: b'zz'")  # eventlet's ChunkReadError

    with pytest.raises(ApiError) as info:
        read_body({"wsgi.input": Broken(), "HTTP_TRANSFER_ENCODING": "chunked"})
    assert info.value.status == 400 and "could not read the request body" in str(info.value)


def test_short_reads_are_continued():
    class Trickle(BytesIO):
        def read(self, n=-1):
            return super().read(min(n, 3))

    assert read_body({"wsgi.input": Trickle(b'{"a": 1}'), "CONTENT_LENGTH": "8"}) == b'{"a": 1}'


def test_413_for_a_body_over_the_limit():
    r = call(FakeService(), "POST", "/intents", b" " * (MAX_BODY_BYTES + 1), JSON)
    assert refused(r, 413) and str(MAX_BODY_BYTES) in r.body["error"]


@pytest.mark.parametrize("field", ["rate_bps", "weight"])
def test_an_integer_beyond_any_float_is_a_400_naming_the_field(field):
    s = FakeService()
    raw = b'{"src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 1000000, "%s": 1%s}' % (field.encode(), b"0" * 400)
    raw = raw.replace(b'"rate_bps": 1000000, "rate_bps"', b'"rate_bps"')
    r = call(s, "POST", "/intents", raw)
    assert refused(r, 400, field) and "an integer of 401 digits" in r.body["error"], r.body
    assert len(s.intents) == 0
