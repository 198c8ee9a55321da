"""Lab host addresses."""


def test_lab_host_addresses_go_beyond_one_slash_24():
    from harness.lab.netns import host_addr

    assert host_addr(0) == "10.213.0.10" and host_addr(199) == "10.213.0.209"
    assert host_addr(200) == "10.213.1.10" and host_addr(1099) == "10.213.5.109"
