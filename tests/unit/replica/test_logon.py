"""A logon left half done, from hand-written SMB headers: the pure step and the timer on a
real event loop."""

import asyncio
import struct

from harness.replica.logon import LogonWatch, logon_step

MORE_PROCESSING = 0xC0000016


def smb2(command, status=0):
    return b"\xfeSMB" + struct.pack("<HHIH", 64, 0, status, command) + bytes(50)


def smb1(command, status=0):
    return b"\xffSMB" + bytes([command]) + struct.pack("<I", status) + bytes(40)


def test_a_logon_starts_waits_on_the_client_after_each_answer_and_ends_with_success():
    state, timer = logon_step("none", smb2(0x0000), True)  # NEGOTIATE
    assert (state, timer) == ("started", "cancel")
    assert logon_step(state, smb2(0x0000), False) == ("started", "arm")  # answered
    assert logon_step(state, smb2(0x0001), True) == ("started", "cancel")  # first leg
    assert logon_step(state, smb2(0x0001, MORE_PROCESSING), False) == ("started", "arm")
    assert logon_step(state, smb2(0x0001), False) == ("done", "cancel")  # logged on
    assert logon_step("done", smb2(0x0001, MORE_PROCESSING), False) == ("done", "keep")


def test_smb1_and_other_messages():
    assert logon_step("none", smb1(0x72), True) == ("started", "cancel")
    assert logon_step("started", smb1(0x73, MORE_PROCESSING), False) == ("started", "arm")
    assert logon_step("started", smb1(0x73), False) == ("done", "cancel")
    assert logon_step("none", smb2(0x000D), True) == ("none", "keep")  # an echo: no logon
    assert logon_step("none", smb2(0x0000), False) == ("none", "keep")  # no logon started
    assert logon_step("started", b"\x00garbage", True) == ("started", "keep")


def test_the_watch_fires_once_for_a_silent_client_and_not_for_one_that_goes_on():
    # the next leg comes with no wait in between, so it is in time however loaded the machine
    async def run():
        loop = asyncio.get_running_loop()
        fired = []
        silent = LogonWatch(loop, 0.05, lambda: fired.append("silent"))
        going_on = LogonWatch(loop, 0.05, lambda: fired.append("going_on"))
        for watch in (silent, going_on):
            watch.message(smb2(0x0000), True)
            watch.message(smb2(0x0000), False)
        going_on.message(smb2(0x0001), True)  # its next leg, in time
        going_on.message(smb2(0x0001), False)  # and logged on
        deadline = loop.time() + 10.0
        while not fired and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # time for a second, wrong, firing
        silent.close()
        return fired

    assert asyncio.run(run()) == ["silent"]
