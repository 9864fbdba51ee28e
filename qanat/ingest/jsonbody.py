"""JSON bodies from outside, read with bounds: not JSON, not UTF-8 or nested too deep is
:class:`~qanat.errors.BadPayload` with the reason, never a crash.

No channel nests a message more than a few levels deep; a body nested thousands deep is
an attack on the parser (Python's recursion limit), refused before anything else runs.
"""

from __future__ import annotations

import json
from typing import Any

from qanat.errors import BadPayload

#: Deeper than any channel's real payload (a Telegram reply of a reply is about 8 levels).
MAX_DEPTH = 64


def nesting_depth(body: bytes) -> int:
    """How deep ``[`` and ``{`` nest in a JSON text (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def load_json(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``body``; BadPayload (with the reason) when it cannot be read."""
    if nesting_depth(body) > max_depth:
        raise BadPayload(f"the JSON body nests deeper than {max_depth} levels")
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise BadPayload("the JSON body is not UTF-8") from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "too deep"
        raise BadPayload(f"not JSON: {reason}") from exc
