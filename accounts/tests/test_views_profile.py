from django.urls import reverse

PROFILE_URL = reverse("accounts:profile")


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(PROFILE_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_shows_the_users_details(login, agent):
    response = login(agent).get(PROFILE_URL)

    assert response.status_code == 200
    content = response.content.decode()
    assert "agent@example.com" in content
    assert "agent</dd>" in content


def test_it_saves_names_and_turns_notifications_off(login, customer):
    assert customer.notify_by_email

    # An unticked checkbox is simply absent from the POST.
    response = login(customer).post(PROFILE_URL, {"first_name": "Ada", "last_name": "Lovelace"})

    assert response.status_code == 302
    assert response["Location"] == PROFILE_URL
    customer.refresh_from_db()
    assert customer.first_name == "Ada"
    assert customer.last_name == "Lovelace"
    assert customer.notify_by_email is False


def test_it_turns_notifications_back_on(login, customer):
    customer.notify_by_email = False
    customer.save(update_fields=["notify_by_email"])

    login(customer).post(PROFILE_URL, {"first_name": "", "last_name": "", "notify_by_email": "on"})

    customer.refresh_from_db()
    assert customer.notify_by_email is True


def test_forged_fields_are_ignored(login, customer):
    response = login(customer).post(
        PROFILE_URL,
        {
            "first_name": "Mallory",
            "last_name": "",
            "notify_by_email": "on",
            "username": "admin2",
            "email": "mallory@evil.example",
            "is_staff": "on",
            "is_superuser": "on",
            "is_active": "",
            "password": "plain",
        },
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.first_name == "Mallory"
    assert customer.username == "customer"
    assert customer.email == "customer@example.com"
    assert customer.is_staff is False
    assert customer.is_superuser is False
    assert customer.is_active is True
    assert customer.role == "customer"
    assert customer.password != "plain"


def test_an_overlong_name_is_refused(login, customer):
    response = login(customer).post(PROFILE_URL, {"first_name": "x" * 151, "last_name": ""})

    assert response.status_code == 400
    assert "first_name" in response.context["form"].errors
    customer.refresh_from_db()
    assert customer.first_name == ""


def test_it_has_a_section_per_form_each_with_its_own_target(login, customer):
    html = login(customer).get(PROFILE_URL).content.decode()

    for section in ("details", "language", "email-address", "your-data", "api-tokens"):
        assert f'id="{section}"' in html
    assert f'<form method="post" action="{PROFILE_URL}" novalidate>' in html
    assert f'<form method="post" action="{reverse("accounts:change_email")}" novalidate>' in html
    assert f'href="{reverse("my_data")}" download' in html
    for label in ("Email me about replies", "Email me about status changes"):
        assert label in html


def test_it_saves_each_kind_of_notification(login, customer):
    login(customer).post(
        PROFILE_URL,
        {"first_name": "", "last_name": "", "notify_by_email": "on", "notify_status": "on"},
    )

    customer.refresh_from_db()
    assert (customer.notify_by_email, customer.notify_replies, customer.notify_status) == (
        True,
        False,
        True,
    )
