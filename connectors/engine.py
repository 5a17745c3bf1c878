"""Starts the Rasa engine (`rasa run …`) with its HTTP API locked by ENGINE_API_TOKEN.

    python -m connectors.engine --enable-api --port 5005 --model … (the arguments of `rasa run`)

Rasa takes the token only as `--auth-token` on its command line, which every local user can read
in the process list; here it comes from the environment and is added inside the process. The
engine does not start with a weak token (nor without ACTION_SERVER_TOKEN, which endpoints.yml
sends to the action server). The channel webhooks stay open; the API (`/model`, `/conversations`,
`/status`, …) then wants `?token=<ENGINE_API_TOKEN>`.
"""

import os
import sys

from bot.installation_secrets import WeakSecret, require


def main() -> int:
    token = os.environ.get("ENGINE_API_TOKEN", "")
    try:
        require({"ENGINE_API_TOKEN": token, "ACTION_SERVER_TOKEN": os.environ.get("ACTION_SERVER_TOKEN", "")})
    except WeakSecret as exc:
        print(f"the engine does not start: {exc}", file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    # "=" keeps a token that starts with "-" (one generated token in 64) from reading as an option
    sys.argv = ["rasa", "run", *sys.argv[1:], f"--auth-token={token}"]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
