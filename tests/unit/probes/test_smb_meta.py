"""smb_meta's rename information, on literal bytes."""

from harness.probes.smb_meta import rename_information


def test_rename_information_literal_bytes():
    # [MS-FSCC] 2.4.37 as SMB2 sends it: ReplaceIfExists, 7 reserved, RootDirectory (8),
    # FileNameLength (4), the name in UTF-16LE
    assert rename_information("ab", smb1=False) == (
        b"\x00" + b"\x00" * 7 + b"\x00" * 8 + b"\x04\x00\x00\x00" + b"a\x00b\x00")
    # SMB1 pass-through: a 4-byte RootDirectory; the name as the connection's flags say
    assert rename_information("ab", smb1=True) == (
        b"\x00" + b"\x00" * 3 + b"\x00" * 4 + b"\x04\x00\x00\x00" + b"a\x00b\x00")
    assert rename_information("ab", smb1=True, unicode=False) == (
        b"\x00" + b"\x00" * 3 + b"\x00" * 4 + b"\x02\x00\x00\x00" + b"ab")
