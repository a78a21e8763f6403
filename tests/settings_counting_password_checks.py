"""The project's settings, with a password hasher that notes each password it checks.

Only for the servers tests/test_lockout_race.py starts: the number of passwords checked is what
the login lock-out limits, and it cannot be seen from outside (a refused attempt and a wrong
password both count as a failed login). Each check appends a line to PASSWORD_CHECKS_FILE.
"""

import os

from django.contrib.auth.hashers import BCryptSHA256PasswordHasher

from helpdesk_site.settings import *  # noqa: F403


class CountingBCryptSHA256PasswordHasher(BCryptSHA256PasswordHasher):
    """bcrypt as in production (slow on purpose: the window the race needs), counted."""

    def verify(self, password, encoded):
        # One short append per check: whole lines, whichever process or thread writes.
        with open(os.environ["PASSWORD_CHECKS_FILE"], "a") as checks:
            checks.write("checked\n")
        return super().verify(password, encoded)


PASSWORD_HASHERS = ["tests.settings_counting_password_checks.CountingBCryptSHA256PasswordHasher"]
