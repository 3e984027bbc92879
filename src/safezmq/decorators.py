"""``@context()`` and ``@socket(kind)``: give a function a Context or Socket that is closed
when it returns (pyzmq's ``zmq.decorators``).

    @context()
    @socket(safezmq.PUSH)
    def work(ctx, push): ...

The object is passed as the keyword named by the first str argument (or ``name=``), otherwise
appended to the positional arguments.  ``@socket`` takes its context from the keyword
``context_name`` (default ``"context"``), else the first Context among the arguments, else
``Context.instance()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _split_name(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str | None, tuple[Any, ...]]:
    """The keyword the object is passed as (``name=`` or a leading str), and the rest."""
    if isinstance(kwargs.get("name"), str):
        return kwargs.pop("name"), args
    if args and isinstance(args[0], str):
        return args[0], args[1:]
    return None, args


def _inject(
    func: Callable[..., Any],
    name: str | None,
    obj: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    if name is None:
        return func(*args, obj, **kwargs)
    if name in kwargs:
        raise TypeError(f"{func.__name__}() got multiple values for argument '{name}'")
    return func(*args, **{**kwargs, name: obj})


def context(*ctx_args: Any, **ctx_kwargs: Any) -> Callable[[F], F]:
    """Call the function with a new Context (arguments go to ``Context(...)``), destroyed
    when the function returns."""
    name, ctx_args = _split_name(ctx_args, ctx_kwargs)

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from .context import Context

            with Context(*ctx_args, **ctx_kwargs) as ctx:
                return _inject(func, name, ctx, args, kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def socket(*skt_args: Any, **skt_kwargs: Any) -> Callable[[F], F]:
    """Call the function with a new socket (arguments go to ``context.socket(...)``), closed
    when the function returns."""
    name, skt_args = _split_name(skt_args, skt_kwargs)
    context_name: str = skt_kwargs.pop("context_name", "context")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = _find_context(context_name, args, kwargs)
            with ctx.socket(*skt_args, **skt_kwargs) as sock:
                return _inject(func, name, sock, args, kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _find_context(context_name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    from .context import Context

    named = kwargs.get(context_name)
    if isinstance(named, Context):
        return named
    for arg in args:
        if isinstance(arg, Context):
            return arg
    return Context.instance()


__all__ = ["context", "socket"]
