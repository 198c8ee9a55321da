"""Not a server: a target that declines every scenario, so a run returns right after its
preflight (for tests of what happens around a run: directories, report entries, the CLI)."""


class DecliningTarget:
    name = "skipper"
    endpoint = None

    def start(self):
        pass

    def stop(self):
        pass

    def describe(self):
        return "skipper"

    def server_version(self):
        return None

    def server_events(self):
        return []

    def unsupported(self, scenario):
        return "declined by the test"

    def client_netns(self, role):
        return None
