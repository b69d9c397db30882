"""Everything an error lets its catcher reach, for tests that look for secrets in it."""

from __future__ import annotations

from collections.abc import Iterator


def reachable_text(root: object) -> Iterator[str]:
    """Every str and bytes reachable from ``root`` through exception links, args and attributes."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        item = stack.pop()
        if id(item) in seen or item is None or isinstance(item, int | float | bool | type):
            continue
        seen.add(id(item))
        if isinstance(item, str):
            yield item
        elif isinstance(item, bytes | bytearray | memoryview):
            yield bytes(item).decode("latin-1")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        else:
            if isinstance(item, BaseException):
                stack.extend([item.__cause__, item.__context__, item.args, str(item)])
            stack.extend(vars(item).values() if hasattr(item, "__dict__") else [])
            for cls in type(item).__mro__:
                for name in getattr(cls, "__slots__", ()):
                    stack.append(getattr(item, name, None))
