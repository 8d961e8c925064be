"""Poll a readiness check until it passes or a deadline expires."""

from collections.abc import Callable

from tenacity import RetryError, Retrying, retry_if_exception, retry_if_result, stop_after_delay, wait_fixed

from deploy.config import StackError


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, hint: str, interval: float = 0.5) -> None:
    """Call `check` until it returns True; after `timeout` seconds raise a StackError naming `what` and `hint`.

    Any exception counts as "not yet", except a StackError, which `check` raises to give up at once.
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda ok: not ok) | retry_if_exception(lambda err: not isinstance(err, StackError)),
    )
    try:
        retrying(check)
    except RetryError as err:
        cause = err.last_attempt.exception()
        detail = f" (last error: {type(cause).__name__}: {cause})" if cause else ""
        raise StackError(f"{what} did not come up within {timeout:.0f} s{detail}; see {hint}") from None
