"""A wrapper that retries calls failing with connection errors, with capped, jittered exponential backoff."""

from key_value.aio.wrappers.retry.wrapper import DEFAULT_RETRY_ON, RetryWrapper

__all__ = ["DEFAULT_RETRY_ON", "RetryWrapper"]
