"""The application object: routes from dialed numbers to ``async def handler(call)``.

```python
app = callcore.App()

@app.route("_4XXX", public=True)        # Asterisk-style pattern: 4000–4999
async def hotline(call):
    await call.answer()
    await call.wait_hangup()
```

Patterns match the Request-URI user part (the dialed number): an exact
string, an Asterisk-style pattern starting with ``_`` (``X`` any digit, ``Z``
1–9, ``N`` 2–9, ``[1-5]`` a set, ``.`` one or more of anything, ``!`` zero or
more), or a compiled :class:`re.Pattern`. ``when=`` adds a predicate on the
request (caller attributes). Routes are tried in the order they were declared.

A route is private unless ``public=True``: callers must then authenticate
with a declared account (digest, RFC 8760) before the handler runs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcore.switch.location import Account, AccountBook

if TYPE_CHECKING:
    from callcore.sip.message import Request
    from callcore.switch.call import Call

Handler = Callable[["Call"], Awaitable[Any]]


def compile_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """Turn an exact number, an Asterisk ``_`` pattern or a regex into a regex."""
    if isinstance(pattern, re.Pattern):
        return pattern
    if not pattern.startswith("_"):
        return re.compile(re.escape(pattern))
    out = []
    i = 1
    while i < len(pattern):
        c = pattern[i]
        if c in "Xx":
            out.append("[0-9]")
        elif c in "Zz":
            out.append("[1-9]")
        elif c in "Nn":
            out.append("[2-9]")
        elif c == ".":
            out.append(".+")
        elif c == "!":
            out.append(".*")
        elif c == "[":
            end = pattern.index("]", i)
            out.append("[" + pattern[i + 1 : end].replace("\\", "") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


@dataclass(slots=True)
class Route:
    pattern: re.Pattern[str]
    handler: Handler
    public: bool = False
    when: Callable[[Request], bool] | None = None
    name: str = ""

    def matches(self, dialed: str, request: Request) -> bool:
        return self.pattern.fullmatch(dialed) is not None and (
            self.when is None or self.when(request)
        )


@dataclass
class App:
    """Routes plus the SIP accounts allowed to register and to call private routes."""

    name: str = "callcore"
    routes: list[Route] = field(default_factory=list)
    accounts: AccountBook = field(default_factory=AccountBook)

    def route(
        self,
        pattern: str | re.Pattern[str],
        *,
        public: bool = False,
        when: Callable[[Request], bool] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Decorator: calls to ``pattern`` run the decorated handler."""

        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(
                    compile_pattern(pattern),
                    handler,
                    public,
                    when,
                    getattr(handler, "__name__", ""),
                )
            )
            return handler

        return register

    def add_account(
        self, extension: str, username: str, password: str, display_name: str | None = None
    ) -> Account:
        """Declare a SIP account (extension, digest username, password)."""
        account = Account(
            extension=extension, username=username, password=password, display_name=display_name
        )
        self.accounts.add(account)
        return account

    def match(self, dialed: str, request: Request) -> Route | None:
        for route in self.routes:
            if route.matches(dialed, request):
                return route
        return None


__all__ = ["App", "Handler", "Route", "compile_pattern"]
