"""`python -m bigcommerce_sandbox [port]`: serve the demo sandbox."""

import sys

from bigcommerce_sandbox.runner import serve_forever

if __name__ == "__main__":
    serve_forever(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8900)
