"""`connector`: the operator's command line (migrate, sandbox, run)."""
