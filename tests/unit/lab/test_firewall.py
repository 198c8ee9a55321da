"""Rule specs and the tag that lets cleanup find the harness's rules (no iptables run here)."""

from harness.lab import firewall


def test_flow_rules_cover_both_directions_of_one_flow():
    out, inp = firewall.flow_rules("10.213.0.12:40000", "10.213.0.1:139")
    assert out == ["OUTPUT", "-p", "tcp", "-s", "10.213.0.12", "--sport", "40000",
                   "-d", "10.213.0.1", "--dport", "139"]
    assert inp == ["INPUT", "-p", "tcp", "-s", "10.213.0.1", "--sport", "139",
                   "-d", "10.213.0.12", "--dport", "40000"]


def test_tag_is_found_in_iptables_save_lines():
    line = ('-A OUTPUT -s 10.213.0.12/32 -d 10.213.0.1/32 -p tcp -m tcp --sport 40000 '
            '--dport 139 -m comment --comment nbth-4242-cut -j DROP')
    m = firewall._TAG.search(line)
    assert m and m.group(1) == firewall.tag_for(4242) and m.group(2) == "4242"
    assert firewall._TAG.search(line.replace('nbth-4242-cut', '"nbth-4242-cut"')).group(2) == "4242"
    assert not firewall._TAG.search("-A INPUT -j DROP -m comment --comment other")
