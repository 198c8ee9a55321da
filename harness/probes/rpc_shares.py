"""``rpc_shares``: enumerate the server's shares over the srvsvc named pipe.

On the wire, per operation: one DCE/RPC request NetrShareEnum (opnum 15, level 1: what
the NetShareEnumAll call sends, [MS-SRVS] 3.1.4.8) and its answer, written and read on the
``\\PIPE\\srvsvc`` pipe of IPC$ (SMB2 WRITE + READ; SMB1 WRITE_ANDX + READ_ANDX). At
setup, on the client's own session: TREE_CONNECT to IPC$, CREATE of the pipe and the RPC
BIND to srvsvc (all kept). This is what Explorer sends to show a server's shares; on Samba
the answer comes from its RPC service
(samba-dcerpcd's rpcd_srvsvc since 4.16), a path no other probe takes.
"""

from __future__ import annotations

from impacket.dcerpc.v5 import srvs, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException

from harness.clients import smbops

# The set-up's wait for each answer: Samba starts its RPC service on demand at the first bind
# (samba-dcerpcd, then rpcd_srvsvc): 2-4 s on a fresh server here, later binds 0.1-0.4 s.
BIND_TIMEOUT_S = 20.0


# What an SMB exchange raises: a clean-up that meets one leaves the rest to the scratch sweep.
SMB_ERRORS = (*smbops.SMB_ERRORS, DCERPCException)


class ShareEnumProbe:
    name = "rpc_shares"

    def __init__(self, session) -> None:
        self.session = session
        self.dce = None

    @classmethod
    def from_context(cls, ctx) -> ShareEnumProbe:
        return cls(ctx.session)

    def open(self) -> None:
        s = self.session
        rpc = transport.SMBTransport(s.endpoint.host, filename=r"\srvsvc", smb_connection=s.conn)
        dce = rpc.get_dce_rpc()
        saved = s.set_timeout(BIND_TIMEOUT_S)
        try:
            dce.connect()
            dce.bind(srvs.MSRPC_UUID_SRVS)
        finally:
            s.set_timeout(saved)
        self.dce = dce

    def invoke(self) -> None:
        answer = srvs.hNetrShareEnum(self.dce, 1)  # raises DCERPCException on an error status
        if not answer["InfoStruct"]["ShareInfo"]["Level1"]["EntriesRead"]:
            raise ConnectionError("NetrShareEnum answered with no shares")

    def close(self) -> None:
        if self.dce is None:
            return
        try:
            self.dce.disconnect()  # TREE_DISCONNECT of IPC$; the session stays the caller's
        except SMB_ERRORS:
            pass
        self.dce = None
