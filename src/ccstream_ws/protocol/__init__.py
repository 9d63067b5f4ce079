"""The protocol, sans I/O, shared by the server and the client.

Error and close codes (:mod:`._codes`), JSON-RPC 2.0 messages for both ends (:mod:`._jsonrpc`),
each method's params and the value checks under them (:mod:`._params`), the text and bytes form
of OS strings (:mod:`._text`), the output's wire encoding (:mod:`._wire`) and binary frames
(:mod:`._frames`). Nothing here does I/O; ``docs/protocol.md`` is the specification.
"""

from ._codes import CloseCode, ErrorCode
from ._frames import BinaryFrame, pack_binary, unpack_binary

__all__ = ["BinaryFrame", "CloseCode", "ErrorCode", "pack_binary", "unpack_binary"]
