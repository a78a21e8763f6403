"""Who hears about a new message (see tickets.notifications for the rules and the emails)."""

from tickets.notifications import (
    REPLIES,
    queue_ticket_email,
    recipients,
    staff_recipients,
    ticket_context,
)

from .models import Message


def notify_message(message: Message) -> None:
    """A public staff reply goes to the reporter; a reporter's reply to the assignee (to staff
    while unassigned, or when the assignee's account was deactivated). Internal notes notify
    nobody. The email is the reply's text, with the ticket's link below it."""
    if message.is_internal:
        return
    ticket = message.ticket
    sender = message.sender
    from_staff = sender.is_staff and sender.pk != ticket.reporter_id
    if from_staff:
        to = recipients([ticket.reporter], exclude=sender, kind=REPLIES)
    elif ticket.assignee_id and ticket.assignee.is_active:
        to = recipients([ticket.assignee], exclude=sender, kind=REPLIES)
    else:
        to = staff_recipients(exclude=sender, kind=REPLIES)
    queue_ticket_email(
        "new_message",
        to,
        {
            **ticket_context(ticket, for_customer=from_staff),
            "sender": sender.username,
            "from_staff": from_staff,
            "content": message.content,
        },
        message_id=message.pk,
    )
