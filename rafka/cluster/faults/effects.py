"""What a fault does to a response on its way out, for the transports to carry out.

A fault plan acts inside :meth:`rafka.cluster.broker.Broker.handle`, which both the TCP
listener and the in-process transport call. Effects a message object cannot express travel
as exceptions, and each transport turns them into what a client would see from a real broker:

==================  ==================================  ======================================
exception           TCP listener                        in-process transport
==================  ==================================  ======================================
CloseConnection     closes the connection               TransportError
DropResponse        sends nothing; the connection       waits until the request times out
                    answers nothing more (responses     (RequestTimedOutError)
                    are ordered), as a hung broker
MangledResponse     sends the short or garbled frame    DecodeError, as a TCP client's decoder
                                                        raises on such a frame
==================  ==================================  ======================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rafka.protocol import framing
from rafka.protocol._message import Message
from rafka.protocol.messages import API_SPECS

if TYPE_CHECKING:
    from rafka.cluster.request import RequestContext

__all__ = ["DropResponse", "MangledResponse", "mangle_frame"]

_GARBAGE = 0x7F  # as a length (int32 or varint) this runs past the end of any frame


class DropResponse(Exception):
    """A fault plan dropped the response to this request: it is never sent."""


class MangledResponse(Exception):
    """A fault plan corrupted the response: send :meth:`frame` instead of a good one."""

    def __init__(self, ctx: RequestContext, response: Message, how: str) -> None:
        super().__init__(f"response corrupted by a fault plan ({how})")
        self.ctx = ctx
        self.response = response
        self.how = how

    def frame(self) -> bytes:
        """The mangled response frame, size prefix included."""
        ctx = self.ctx
        good = framing.encode_response(
            ctx.api_key, ctx.api_version, ctx.correlation_id, self.response
        )
        header = 4 if API_SPECS[ctx.api_key].response_header_version(ctx.api_version) == 0 else 5
        return mangle_frame(bytes(good), header, self.how)


def mangle_frame(frame: bytes, header_size: int, how: str) -> bytes:
    """``frame`` (size prefix, response header of ``header_size`` bytes, body) with its body
    cut to half (``"short"``, the size prefix adjusted) or overwritten (``"garbage"``)."""
    start = 4 + header_size
    body = frame[start:]
    if how == "short":
        body = body[: len(body) // 2]
    elif how == "garbage":
        body = bytes([_GARBAGE]) * max(len(body), 8)
    else:
        raise ValueError(f"unknown corruption {how!r}")
    out = frame[4:start] + body
    return len(out).to_bytes(4, "big") + out
