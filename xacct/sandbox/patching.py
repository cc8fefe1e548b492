"""The one way the emulator changes moto. Each rule reads as the AWS behaviour it adds:

    @around(FakeBucket, "create_from_cloudformation_json")
    def create(original, cls, name, cfn, account_id, region_name, **kwargs):
        bucket = original(cls, name, cfn, account_id, region_name, **kwargs)
        ...  # what AWS does that moto does not
        return bucket

`around` hands the function moto's own (the plain function under a method, classmethod or
staticmethod, the getter of a property), then moto's arguments, what moto passed by name to a
positional parameter passed by position (so a change names its parameters as it likes); `replace`
takes moto's place without calling it (a gap closed whole); `after_template` is `around` both of a
resource's CloudFormation create and update, for what CloudFormation carries out of a template and
moto ignores. Methods, classmethods, staticmethods, properties and module
functions alike; the replacement keeps the kind of what it replaces.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _held(owner: Any, name: str) -> tuple[Any, Callable[..., Any]]:
    """What `owner.name` is (as stored) and the plain function inside it."""
    held = inspect.getattr_static(owner, name)
    if isinstance(held, classmethod | staticmethod):
        return held, held.__func__
    if isinstance(held, property):
        assert held.fget is not None, f"{owner}.{name} has no getter"
        return held, held.fget
    return held, held


def _put(owner: Any, name: str, held: Any, function: Callable[..., Any]) -> None:
    if isinstance(held, classmethod):
        setattr(owner, name, classmethod(function))
    elif isinstance(held, staticmethod):
        setattr(owner, name, staticmethod(function))
    elif isinstance(held, property):
        setattr(owner, name, property(function))
    else:
        setattr(owner, name, function)


def _names(function: Any, skip: int = 0) -> list[str] | None:
    try:
        parameters = list(inspect.signature(function).parameters.values())[skip:]
    except (TypeError, ValueError):
        return None
    return [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]


def _by_position(original: Any, function: Callable[..., Any], skip: int = 0) -> Callable[..., Any] | None:
    """How to turn moto's call, some arguments passed by name, into one by position, where the change
    names its parameters otherwise than moto's own (None: it names them alike, or there is nothing to bind)."""
    theirs, ours = _names(original), _names(function, skip)
    if theirs is None or ours is None:
        return None
    shared = min(len(theirs), len(ours))
    if theirs[:shared] == ours[:shared]:  # the rest, if any, taken as *args/**kwargs under moto's names
        return None
    signature = inspect.signature(original)

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if not kwargs:
            return args, kwargs
        bound = signature.bind(*args, **kwargs)
        return bound.args, bound.kwargs

    return bind


def around(owner: Any, name: str) -> Callable[[F], F]:
    """Replace `owner.name` with the decorated function, which receives moto's own first."""
    held, original = _held(owner, name)

    def decorate(change: F) -> F:
        bind = _by_position(original, change, skip=1)

        @functools.wraps(original)
        def replacement(*args: Any, **kwargs: Any) -> Any:
            if bind is not None:
                args, kwargs = bind(args, kwargs)
            return change(original, *args, **kwargs)

        _put(owner, name, held, replacement)
        return change

    return decorate


def replace(owner: Any, name: str) -> Callable[[F], F]:
    """Replace `owner.name` with the decorated function; moto's own is not called."""
    held = inspect.getattr_static(owner, name, None)

    def decorate(function: F) -> F:
        bind = None if held is None else _by_position(_held(owner, name)[1], function)
        if bind is None:
            _put(owner, name, held, function)
            return function

        @functools.wraps(function)
        def replacement(*args: Any, **kwargs: Any) -> Any:
            args, kwargs = bind(args, kwargs)
            return function(*args, **kwargs)

        _put(owner, name, held, replacement)
        return function

    return decorate


def after_template(model: Any) -> Callable[[F], F]:
    """What CloudFormation carries out of a resource's template that moto ignores: the decorated
    `apply(resource, cfn, account_id, region_name, *, created)` runs once moto has made the resource
    (created=True) or updated it (created=False), given the resource's template entry."""

    def decorate(apply: F) -> F:
        @around(model, "create_from_cloudformation_json")
        def create(original: Any, cls: Any, name: str, cfn: Any, account_id: str, region_name: str, **kw: Any) -> Any:
            made = original(cls, name, cfn, account_id, region_name, **kw)
            apply(made, cfn, account_id, region_name, created=True)
            return made

        @around(model, "update_from_cloudformation_json")
        def update(original: Any, cls: Any, before: Any, name: str, cfn: Any, account_id: str, region_name: str,
                   **kw: Any) -> Any:  # fmt: skip
            made = original(cls, before, name, cfn, account_id, region_name, **kw)
            apply(made, cfn, account_id, region_name, created=False)
            return made

        return apply

    return decorate
