from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from . import caching, charts, formatting
from .forms import ReportForm
from .periods import site_tz
from .visualization import BUCKET_WORDS, DataVisualization


def staff_required(view):
    """Anonymous visitors go to the login page; customers get a 404, as for any staff page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not (request.user.is_active and request.user.is_staff):
            raise Http404(_("No such page."))
        return view(request, *args, **kwargs)

    return wrapper


def _report(request: HttpRequest) -> tuple[ReportForm, DataVisualization | None]:
    """The form read from the query string, and its period's report (computed in the last
    minute, or now)."""
    form = ReportForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, caching.cached_report(form.cleaned_data["period"])


@staff_required
@require_safe
def report_page(request: HttpRequest) -> HttpResponse:
    form, viz = _report(request)
    if viz is None:
        return render(request, "reports/page.html", {"form": form}, status=400)
    chart_list = [
        {
            "id": chart["id"],
            "script_id": f"figure-{chart['id']}",
            "title": chart["title"],
            # The card's heading is the title: the figure does not repeat it.
            "figure": charts.without_title(chart["figure"]),
            "headers": chart["headers"],
            "shown_rows": chart["shown_rows"],
            "summary": chart["summary"],
        }
        for chart in viz.charts()
    ]
    context = {
        "form": form,
        "viz": viz,
        "period": viz.period,
        "bucket_word": BUCKET_WORDS[viz.period.bucket],
        "metrics": viz.metrics,
        "charts": chart_list,
        "awaiting": {
            "count": viz.tickets_data["awaiting_first_response"]["count"],
            "oldest": [
                {**row, "age_display": formatting.duration(row["age"])}
                for row in viz.tickets_data["awaiting_first_response"]["oldest"]
            ],
        },
        "time_zone": str(site_tz()),
        "users": viz.users_data,
        "query": request.GET.urlencode(),
    }
    return render(request, "reports/page.html", context)


@staff_required
@require_safe
def report_csv(request: HttpRequest) -> HttpResponse:
    form, viz = _report(request)
    if viz is None:
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    response = HttpResponse(viz.to_csv(), content_type="text/csv; charset=utf-8")
    filename = f"helpdesk-report-{viz.period.first_day}-{viz.period.last_day}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_required
@require_safe
def report_json(request: HttpRequest) -> HttpResponse:
    form, viz = _report(request)
    if viz is None:
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return JsonResponse(viz.as_dict())


@staff_required
@require_POST
def report_refresh(request: HttpRequest) -> HttpResponse:
    """Recompute the report the query string names, keep it, and go back to it; at most one
    refresh per person every few seconds (429 otherwise, recomputing nothing)."""
    form = ReportForm(request.GET)
    if not form.is_valid():
        return render(request, "reports/page.html", {"form": form}, status=400)
    query = request.GET.urlencode()
    if not caching.may_refresh(request.user):
        context = {"query": query, "seconds": caching.REFRESH_SECONDS}
        return render(request, "reports/refresh_refused.html", context, status=429)
    caching.fresh_report(form.cleaned_data["period"])
    return redirect(f"{reverse('reports:page')}?{query}" if query else reverse("reports:page"))
