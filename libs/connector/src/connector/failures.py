"""How the `connector` commands end on a failure they expect: one line on stderr, exit status 1."""

from __future__ import annotations

import sys

from common.db.errors import is_server_error
from common.redaction import redact_text


def report_failure(what: str, error: Exception) -> int:
    """Print `<what> failed: <reason>` (secrets masked, never a traceback); the exit status to return."""
    detail = redact_text(str(error)) or type(error).__name__
    if is_server_error(error):
        detail = f"the database (DATABASE_URL) cannot be reached or refused the connection: {detail}"
    print(f"{what} failed: {detail}", file=sys.stderr)
    return 1
