#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if sys.argv[1:2] == ["stop_db"]:
        # Stopping the embedded database must not start it first (portal/embedded_db.py).
        os.environ["PAYERWATCH_DB_AUTOSTART"] = "0"
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as exc:
        from portal.embedded_db import unreachable_message

        message = unreachable_message(exc)
        if message is None:
            raise
        sys.exit(message)  # one paragraph and exit code 1, not a traceback


if __name__ == "__main__":
    main()
