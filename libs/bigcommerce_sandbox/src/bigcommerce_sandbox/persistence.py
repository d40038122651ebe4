"""A sandbox kept across restarts: its stores, tokens and hooks in one JSON file, replaced atomically."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError

from bigcommerce_sandbox.errors import SandboxError
from bigcommerce_sandbox.models import Hook, Store, Token

if TYPE_CHECKING:
    from bigcommerce_sandbox.data import SandboxData

FORMAT = 1


class StateFileError(SandboxError):
    """The state file cannot be read back; it is left untouched for the merchant to look at."""


@dataclass
class SandboxState:
    """What a restarted sandbox needs to answer as before: the rest (codes, logs, faults) is per run."""

    format: int
    stores: dict[str, Store]
    tokens: dict[str, Token]
    hooks: dict[int, Hook]
    next_hook_id: int
    next_store_id: int


_STATE = TypeAdapter(SandboxState)


def save(sandbox: SandboxData, path: Path) -> None:
    """Write the sandbox's state to `path`: a new file renamed over the old, so a crash leaves one whole."""
    state = SandboxState(
        format=FORMAT,
        stores=sandbox.stores,
        tokens=sandbox.tokens,
        hooks=sandbox.hooks,
        next_hook_id=sandbox.next_hook_id,
        next_store_id=sandbox.next_store_id,
    )
    data = _STATE.dump_json(state, indent=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)  # it holds the stores' access tokens
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(sandbox: SandboxData, path: Path) -> bool:
    """Restore the state saved at `path`; False when there is none yet.

    Raises:
        StateFileError: the file exists but is not a state this version can read.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    try:
        state = _STATE.validate_json(data)
    except ValidationError as error:
        raise StateFileError(
            f"{path} is not a sandbox state file this version can read ({error.error_count()} problems, "
            f"first: {error.errors()[0]['msg']}); move it away to start with a new demo store"
        ) from None
    if state.format != FORMAT:
        raise StateFileError(f"{path} has state format {state.format}, this version reads {FORMAT}")
    sandbox.stores = state.stores
    sandbox.tokens = state.tokens
    sandbox.hooks = state.hooks
    sandbox.next_hook_id = state.next_hook_id
    sandbox.next_store_id = state.next_store_id
    return True
