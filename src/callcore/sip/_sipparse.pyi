"""Types of the compiled SIP parser (``_sipparse``) and its twin (``_sipparse_py``)."""

from callcore.sip.headers import Address, CSeq, Via
from callcore.sip.message import Request, Response
from callcore.sip.sdp import SessionDescription
from callcore.sip.uri import URI, Params

def parse_message(
    data: bytes, stream: bool = False, max_size: int = 65535
) -> Request | Response: ...
def scan_uri(text: str) -> URI: ...
def scan_via(value: str) -> Via: ...
def scan_address(value: str, where: str = "address") -> Address: ...
def scan_cseq(value: str) -> CSeq: ...
def scan_params(text: str, where: str) -> Params: ...
def scan_sdp(text: str | bytes) -> SessionDescription: ...

__all__ = [
    "parse_message",
    "scan_address",
    "scan_cseq",
    "scan_params",
    "scan_sdp",
    "scan_uri",
    "scan_via",
]
