"""Keep secrets out of messages: passwords and tokens in URIs become ``***``."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:@/]*):(?P<pw>[^@/]*)@")
_SECRET_PARAM = re.compile(
    r"(?P<key>[?&;](?:[^=&;]*?(?:password|passwd|pwd|token|secret|key|credential)[^=&;]*)=)"
    r"(?P<value>[^&;#\s]*)",
    re.IGNORECASE,
)


def redact_uri(uri: str) -> str:
    """``uri`` with the password and any secret-looking query values replaced by ``***``."""
    out = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", uri)
    return _SECRET_PARAM.sub(lambda m: f"{m['key']}***", out)


def secrets_in(uri: str) -> list[str]:
    """The secret parts of ``uri`` (to scrub from driver error messages)."""
    found = [m["pw"] for m in _USERINFO.finditer(uri) if m["pw"]]
    found += [m["value"] for m in _SECRET_PARAM.finditer(uri) if m["value"]]
    return [s for s in found if len(s) >= 3]


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
