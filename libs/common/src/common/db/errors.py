"""What a server failure looks like from the services: the errors every loop waits out instead of failing on."""

from __future__ import annotations

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base

from common.errors import ConnectorError


class DatabaseUnavailableError(ConnectorError):
    """PostgreSQL refused a new connection (not accepting connections, too many, starting up, auth)."""


# A failover, a restart, a cut connection or an overloaded server: none of it is the data's fault,
# so the work in hand is kept and tried again once the server answers.
SERVER_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unreachable; TimeoutError (command_timeout) is one too
    DatabaseUnavailableError,  # a connection refused at its start, raised by the pool's connect
    asyncpg.InterfaceError,  # "connection is closed" on a connection cut under us
    asyncpg.InternalClientError,  # "cannot switch to state 12": the protocol after a cut mid-operation
    asyncpg.PostgresConnectionError,  # class 08: ConnectionDoesNotExistError, connection failures
    asyncpg.OperatorInterventionError,  # class 57: admin/crash shutdown, cannot connect now, canceled
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, disk full, out of memory
    asyncpg.TransactionRollbackError,  # class 40: serialization failure, deadlock; the retry is the fix
)

# Subclasses of the above that are the caller's mistake, not the server's: retrying cannot help.
_CLIENT_MISTAKES: tuple[type[Exception], ...] = (
    # a value that cannot be encoded for its column (asyncpg exports class 22's DataError under this name)
    asyncpg_base.DataError,
    asyncpg.exceptions.ClientConfigurationError,
    asyncpg.exceptions.UnsupportedClientFeatureError,
    asyncpg.exceptions.UnsupportedServerFeatureError,
)


def is_server_error(error: BaseException) -> bool:
    """True when `error` means the database (or the way to it) failed, so the same work will succeed later."""
    return isinstance(error, SERVER_ERRORS) and not isinstance(error, _CLIENT_MISTAKES)
