from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _


def staff_required(view):
    """Anonymous visitors go to the login page; anyone else who is not active staff gets a 404,
    as if there were no such page (before the method is looked at: a POST too)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not (request.user.is_active and request.user.is_staff):
            raise Http404(_("No such page."))
        return view(request, *args, **kwargs)

    return wrapper
