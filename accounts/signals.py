"""Log logins, logouts and failed logins: who and from where, never a password."""

import logging

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .client_address import client_address
from .middleware import SessionIdleRefreshMiddleware

logger = logging.getLogger("helpdesk.auth")


def _address(request) -> str:
    return (client_address(request) or "-") if request is not None else "-"


@receiver(user_logged_in)
def log_login(sender, request, user, **kwargs):
    logger.info("login user=%s from %s", user.pk, _address(request))


user_logged_in.connect(SessionIdleRefreshMiddleware.stamp, dispatch_uid="session_idle_stamp")


@receiver(user_logged_out)
def log_logout(sender, request, user, **kwargs):
    logger.info("logout user=%s from %s", getattr(user, "pk", "-"), _address(request))


@receiver(user_login_failed)
def log_login_failed(sender, credentials, request=None, **kwargs):
    # Django already replaced the password in `credentials` with stars; log only the name.
    name = str(credentials.get("username", ""))[:150]
    logger.warning("failed login for %r from %s", name, _address(request))
