"""The [crowd] table: what it accepts, its defaults, and one clear line for bad input."""

import pytest

from harness.errors import BadInput
from harness.scenario.crowd import DEFAULT_MIX, crowd_from_dict, parse_host_port
from harness.scenario.model import from_dict


def scenario(**crowd):
    return from_dict({"name": "x", "crowd": crowd}, "test.toml")


def test_a_crowd_of_200_users_on_two_workers():
    sc = scenario(users=200, workers=2)
    c = sc.crowd
    assert (c.users, c.workers, c.remote_workers, c.expected_workers) == (200, 2, 0, 2)
    assert c.mix == {k: float(v) for k, v in DEFAULT_MIX.items()}
    assert c.master_bind == "" and c.master_host_port is None
    assert c.op_interval_s == 5.0 and c.spawn_rate == 50.0
    # the dict form round-trips (overrides go through it)
    again = sc.with_overrides({"crowd.users": "300"}).crowd
    assert again.users == 300 and again.workers == 2 and again.mix == c.mix


def test_no_crowd_table_is_no_crowd():
    assert from_dict({"name": "x"}, "t").crowd is None
    assert crowd_from_dict({}) is None and crowd_from_dict(None) is None
    assert "crowd" not in from_dict({"name": "x"}, "t").to_dict()


def test_a_mix_and_a_master_for_remote_workers():
    c = crowd_from_dict(
        {"users": 10, "workers": 0, "remote_workers": 3, "master_bind": "10.0.0.5:6000",
         "mix": {"echo": 1, "write": 0.5}}
    )
    assert c.expected_workers == 3 and c.master_host_port == ("10.0.0.5", 6000)
    assert c.mix == {"echo": 1.0, "write": 0.5}


def test_the_crowd_p99_limit_scales_with_its_baseline():
    c = crowd_from_dict({"users": 1, "p99_floor_ms": 100, "p99_factor": 4})
    assert c.p99_limit_us(10_000) == 100_000  # the floor
    assert c.p99_limit_us(50_000) == 200_000  # 4 x the baseline p99


@pytest.mark.parametrize(
    ("crowd", "says"),
    [
        ({"workers": 2}, "[crowd] needs 'users'"),
        ({"users": 0}, "[crowd] users must be an integer from 1"),
        ({"users": 10.5}, "[crowd] users must be an integer"),
        ({"users": True}, "[crowd] users must be an integer"),
        ({"users": 10, "workers": 17}, "[crowd] workers must be an integer from 0 to 16"),
        ({"users": 10, "workers": 0}, "needs at least one worker"),
        ({"users": 10, "spawn_rate": 0}, "[crowd] spawn_rate must be a number in (0"),
        ({"users": 10, "op_interval_s": 0}, "[crowd] op_interval_s must be a number from 0.01"),
        ({"users": 10, "mix": {"delete": 1}}, "unknown operation 'delete'"),
        ({"users": 10, "mix": {"echo": 0}}, "at least one operation with a weight > 0"),
        ({"users": 10, "mix": {"echo": -1}}, "[crowd.mix] echo weight must be a number"),
        ({"users": 10, "mix": [1]}, "[crowd.mix] must be a table"),
        ({"users": 10, "master_bind": "host:99999"}, "port must be 1-65535"),
        ({"users": 10, "master_bind": 5557}, "master_bind must be a string"),
        ({"users": 10, "remote_workers": 2}, "remote_workers need master_bind"),
        ({"users": 10, "colour": "red"}, "unknown key(s) colour"),
    ],
)
def test_bad_crowd_input_is_one_line_naming_the_file(crowd, says):
    with pytest.raises(BadInput) as err:
        scenario(**crowd)
    text = str(err.value)
    assert "\n" not in text and text.startswith("test.toml: ") and says in text, text


def test_a_crowd_that_is_not_a_table():
    with pytest.raises(BadInput, match=r"test.toml: \[crowd\] must be a table"):
        from_dict({"name": "x", "crowd": 200}, "test.toml")


@pytest.mark.parametrize(
    ("text", "host_port"),
    [("h", ("h", 5557)), ("h:1", ("h", 1)), ("10.1.2.3:6000", ("10.1.2.3", 6000)),
     ("[::1]:7000", ("::1", 7000)), ("[fe80::1]", ("fe80::1", 5557))],
)
def test_host_and_port(text, host_port):
    assert parse_host_port(text) == host_port


@pytest.mark.parametrize("text", ["", " ", ":80", "h:x", "h:0", "a b:1", "[::1]:"])
def test_bad_host_and_port(text):
    with pytest.raises(ValueError, match="HOST\\[:PORT\\]"):
        parse_host_port(text)
