"""An inbound mail's SHA-256 is unique, as its key is: the same bytes always make the same key
(messaging.inbound.dedup_key), so no two rows can hold the same bytes, and the database now says
so too (the issue's "sha256 unique")."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0010_message_by_mail'),
    ]

    operations = [
        migrations.AlterField(
            model_name='inboundemail',
            name='sha256',
            field=models.CharField(editable=False, max_length=64, unique=True, verbose_name='SHA-256'),
        ),
    ]
