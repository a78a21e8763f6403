"""The staff menus' agents and categories come from the cache, and a change shows at once."""

import logging

from tickets.models import Category

from .page_helpers import client_for

ASSIGN = 'value="assign:{pk}"'
PUT_IN = 'value="category:{pk}"'


def bulk_menu(client) -> str:
    html = client.get("/tickets/").content.decode()
    return html[html.index('name="action"') : html.index("</select>", html.index('name="action"'))]


def test_a_new_agent_and_a_new_category_are_in_the_menus_at_once(agent, make_user, ticket):
    client = client_for(agent)
    assert ASSIGN.format(pk=agent.pk) in bulk_menu(client)  # the menus are cached now

    newcomer = make_user("newcomer", staff=True)
    billing = Category.objects.create(name="Billing")

    menu = bulk_menu(client)
    assert ASSIGN.format(pk=newcomer.pk) in menu
    assert PUT_IN.format(pk=billing.pk) in menu and "Put in Billing" in menu


def test_a_renamed_category_and_a_departed_agent_change_the_menus_at_once(
    agent, other_agent, ticket, deactivate
):
    network = Category.objects.create(name="Network")
    client = client_for(agent)
    menu = bulk_menu(client)
    assert ASSIGN.format(pk=other_agent.pk) in menu and "Put in Network" in menu

    network.name = "Networking"
    network.save()
    deactivate(other_agent)

    menu = bulk_menu(client)
    assert "Put in Networking" in menu and "Put in Network<" not in menu
    assert ASSIGN.format(pk=other_agent.pk) not in menu


def test_a_deleted_category_leaves_the_menus(agent, ticket):
    gone = Category.objects.create(name="Gone")
    client = client_for(agent)
    assert "Put in Gone" in bulk_menu(client)

    gone.delete()

    assert "Put in Gone" not in bulk_menu(client)


def test_without_a_cache_server_the_staff_pages_work_and_saves_succeed(
    settings, agent, other_agent, ticket, caplog
):
    """A Redis cache that does not answer: the menus are read from the database, presence is
    left out, and saving an agent (a login does) is not refused."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        },
        "fragments": settings.CACHES["fragments"],
    }
    client = client_for(agent)
    with caplog.at_level(logging.WARNING):
        other_agent.first_name = "Erin"
        other_agent.save()
        menu = bulk_menu(client)
        page = client.get(f"/tickets/{ticket.pk}/")

    assert ASSIGN.format(pk=other_agent.pk) in menu
    assert page.status_code == 200
    messages = {record.getMessage() for record in caplog.records}
    assert "Staff menus: cannot delete from the cache (ConnectionError)." in messages
    assert "Staff menus: cannot read the cache (ConnectionError)." in messages
    assert "Presence: cannot use the cache (ConnectionError)." in messages
