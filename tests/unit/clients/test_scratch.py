from harness.clients.scratch import scratch_owner_pid


def test_scratch_names_carry_the_client_pid():
    assert scratch_owner_pid("nbth-victim-4242") == 4242
    assert scratch_owner_pid("nbth-victim-4242.dat") == 4242
    assert scratch_owner_pid("nbth-c12-77.dat") == 77


def test_other_names_are_never_scratch():
    for name in ("nbth-victim", "nbth-victim-42.txt", "report.dat", "nbth--42", "xnbth-c1-42.dat",
                 "nbth-c1-42.dat.bak", "nbth-c1-4a2.dat", ".", ".."):
        assert scratch_owner_pid(name) is None, name
