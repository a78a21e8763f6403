"""Who hears about a new message (see tickets.notifications for the rules)."""

from tickets.notifications import addresses, send_after_commit, staff_addresses, ticket_context

from .models import Message


def notify_message(message: Message) -> None:
    """A public staff reply goes to the reporter; a reporter's reply to the assignee (to staff
    while unassigned, or when the assignee's account was deactivated). Internal notes notify
    nobody."""
    if message.is_internal:
        return
    ticket = message.ticket
    sender = message.sender
    from_staff = sender.is_staff and sender.pk != ticket.reporter_id
    if from_staff:
        recipients = addresses([ticket.reporter], exclude=sender)
    elif ticket.assignee_id and ticket.assignee.is_active:
        recipients = addresses([ticket.assignee], exclude=sender)
    else:
        recipients = staff_addresses(exclude=sender)
    send_after_commit(
        "new_message",
        recipients,
        {
            **ticket_context(ticket),
            "sender": sender.username,
            "from_staff": from_staff,
            "content": message.content,
        },
    )
