"""Strings on the wire, sans-I/O: what counts as text, and the byte form of OS strings.

JSON text is Unicode, but a JSON string may hold a lone surrogate (``"\\ud800"``), which no
UTF-8 encoder accepts: such a string is not *text* here, and the server never echoes one.

A POSIX argument, working directory or environment value is a byte string that need not be
UTF-8 (``caf\\xe9.txt``). On the wire it is a JSON string when its bytes are valid UTF-8, and
otherwise the object ``{"base64": "..."}`` holding its bytes. In Python it is a ``str`` as
:func:`os.fsdecode` makes it (undecodable bytes as surrogate escapes, what ``sys.argv`` and
``os.environ`` hold), so :mod:`subprocess` gives the child exactly those bytes.
"""

from __future__ import annotations

import base64
import binascii
import os

__all__ = ["OSStringError", "as_text", "is_text", "os_string_from_wire", "os_string_to_wire"]

WireOSString = str | dict[str, str]
"""An OS string on the wire: UTF-8 text, or ``{"base64": ...}`` for any bytes."""


class OSStringError(ValueError):
    """A wire value that is not an OS string; the message says what it should be."""


def is_text(value: str) -> bool:
    """True when ``value`` encodes to UTF-8 (it holds no lone surrogate)."""
    # ASCII is the common case and needs no copy; anything else is checked by encoding it.
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_text(value: str) -> str:
    """``value`` with each lone surrogate written as its ``\\uXXXX`` escape: for messages to
    people that quote an OS string (a path the core could not find, say)."""
    if is_text(value):
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def os_string_from_wire(value: object) -> str:
    """The OS string a wire value names (see the module docstring); raises
    :class:`OSStringError` for anything else, and for a NUL byte (no POSIX string holds one)."""
    if isinstance(value, str):
        if not is_text(value):
            raise OSStringError(
                'UTF-8 text (a lone surrogate is not; send other bytes as {"base64": ...})'
            )
        text = value
        try:
            os.fsencode(text)
        except UnicodeEncodeError:
            # Only with a server locale that is not UTF-8: the child could not get these bytes.
            raise OSStringError(
                "text the server's filesystem encoding can hold (or the bytes as base64)"
            ) from None
    elif (
        isinstance(value, dict) and value.keys() == {"base64"} and isinstance(value["base64"], str)
    ):
        try:
            raw = base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise OSStringError('{"base64": ...} with valid base64') from None
        text = os.fsdecode(raw)
    else:
        raise OSStringError('a string or {"base64": "..."}')
    if "\0" in text:
        raise OSStringError("free of NUL")
    return text


def os_string_to_wire(value: str) -> WireOSString:
    """``value`` (an OS string as :func:`os.fsdecode` gives it) as JSON can carry it exactly:
    itself when its bytes are UTF-8, else ``{"base64": ...}`` of its bytes."""
    if value.isascii():
        return value
    try:
        raw = os.fsencode(value)
    except UnicodeEncodeError:
        # Not an OS string (a lone surrogate outside the escapes): keep what can be told.
        raw = value.encode("utf-8", "surrogatepass")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}
