"""Messages that came by email say so (Message.by_mail), set once when their mail is processed:
the conversation no longer looks each message up among the mails on every page."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0009_ticket_message_vectors'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='by_mail',
            field=models.BooleanField(db_default=False, default=False, editable=False, verbose_name='came by email'),
        ),
        migrations.RunSQL(
            "UPDATE messaging_message SET by_mail = TRUE WHERE id IN"
            " (SELECT reply_id FROM messaging_inboundemail WHERE reply_id IS NOT NULL)",
            migrations.RunSQL.noop,
            elidable=False,
        ),
    ]
