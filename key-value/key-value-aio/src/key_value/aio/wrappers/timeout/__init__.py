"""A wrapper that stops waiting for a call after a time limit and raises `StoreTimeoutError`."""

from key_value.aio.wrappers.timeout.wrapper import TimeoutWrapper

__all__ = ["TimeoutWrapper"]
