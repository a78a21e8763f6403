"""Search: tickets by the words of their title, description and messages.

One service, `search_tickets(user, query, filters)`, for the lists (and the admin through
`search_in`). Web-search syntax: words (all must match), "an exact phrase", -excluded, `or`.
Any input is a search: what is not a word (quotes left open, lone operators, symbols, emoji) is
ignored, and a query with no word to look for matches nothing.

A ticket matches when its title, description and messages together hold every word (for a
customer, its public messages: internal notes are for staff), and its title, description and
public messages hold no excluded word (the same for everyone: a note never leaves a ticket out).
The search is a filter inside the list's own query (visibility and filters), so it can never
show a ticket the list would not.

It looks at the newest `SEARCH_MAX_HITS` matching tickets at most (by number on SQLite, by
creation time on PostgreSQL): the pages count, sort and rank (“best match”) within those.
The database does the matching (tickets/search_index.py): PostgreSQL's `tsvector` columns
(each ticket's own, and its conversation's kept on the ticket) with `websearch_to_tsquery`,
or SQLite's FTS5 tables with each word quoted, so nothing typed is FTS syntax; a plain
substring match where SQLite lacks FTS5.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import timedelta
from operator import itemgetter

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL

from . import search_index
from .caching import cache_get, cache_set
from .models import MAX_ID, Ticket, TicketQuerySet
from .selectors import list_rows, ticket_list_for

# Longer input is cut here (at a word's end): still a search, never an error.
MAX_QUERY_LENGTH = 1000
# The "best match" order, beside the list's own (TicketQuerySet.SORTS).
BEST_MATCH = "best"
# A word: letters and digits (the underscore separates words, as in both databases' parsers).
WORD = re.compile(r"[^\W_]+")
# A quoted phrase (the closing quote may be missing: then to the end), or a run of non-spaces.
TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
JUMP = re.compile(r"\s*#?\s*(\d{1,19})\s*")


@dataclass(frozen=True)
class Term:
    """Words that must come in this order (one word, or a phrase), and the text they came from
    (which PostgreSQL splits itself, as it split the tickets' text)."""

    words: tuple[str, ...]
    text: str = field(default="", compare=False)

    def fts5(self) -> str:
        # Each word is letters and digits only: quoted, it is a string to FTS5, never syntax.
        return '"' + " ".join(self.words) + '"'

    def postgres(self):
        from django.contrib.postgres.search import SearchQuery

        # A quoted phrase to websearch_to_tsquery: the words in this order, nothing else.
        phrase = '"' + (self.text or " ".join(self.words)).replace('"', " ") + '"'
        return SearchQuery(phrase, search_type="websearch", config=settings.SEARCH_CONFIG)


@dataclass
class ParsedQuery:
    """A query as both databases search it: every group must match (a group matches when one
    of its terms does), and no excluded term may."""

    text: str
    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)

    @property
    def searchable(self) -> bool:
        return bool(self.groups)

    def fts5(self) -> str:
        """The FTS5 query: quoted strings joined by AND, OR and NOT, nothing else."""
        groups = [
            group[0].fts5() if len(group) == 1 else "(" + " OR ".join(t.fts5() for t in group) + ")"
            for group in self.groups
        ]
        expression = " AND ".join(groups)
        if self.excluded:
            expression = (
                f"({expression}) NOT (" + " OR ".join(t.fts5() for t in self.excluded) + ")"
            )
        return expression

    def postgres(self):
        """The tsquery: each term through websearch_to_tsquery, joined by AND, OR and NOT
        (PostgreSQL's own "or" binds looser than AND; here it joins the two terms beside it,
        as on SQLite)."""
        query = None
        for group in self.groups:
            either = group[0].postgres()
            for term in group[1:]:
                either = either | term.postgres()
            query = either if query is None else query & either
        for term in self.excluded:
            query = query & ~term.postgres()
        return query

    def words(self) -> list[str]:
        """The words looked for (not the excluded ones), for highlighting."""
        return sorted(
            {word for group in self.groups for term in group for word in term.words},
            key=lambda w: (-len(w), w),
        )


def clean_query(text: str) -> str:
    """The input as searched: no NUL bytes (PostgreSQL refuses them), at most MAX_QUERY_LENGTH
    characters (cut at a space where there is one), spaces trimmed."""
    text = (text or "").replace("\x00", " ").strip()
    if len(text) > MAX_QUERY_LENGTH:
        cut = text[:MAX_QUERY_LENGTH]
        if not (cut[-1].isspace() or text[MAX_QUERY_LENGTH].isspace()) and " " in cut:
            cut = cut.rsplit(None, 1)[0]  # not half a word
        text = cut.strip()
    return text


def parse(text: str) -> ParsedQuery:
    """Web-search syntax: words, "phrases", -exclusions and `or` between two terms (a word or
    a phrase: "a b or c" is a and (b or c)). A token of several words ("ERR-04821", "c++",
    "e-mail") is a phrase of its words, which is how both databases split the text too."""
    parsed = ParsedQuery(text=clean_query(text))
    pending_or = after_term = False
    for match in TOKEN.finditer(parsed.text):
        dash, phrase, bare = match.groups()
        negated = bool(dash)
        if phrase is None:
            if bare.lower() == "or":
                pending_or = after_term
                continue
            negated = bare.startswith("-")
            phrase = bare.lstrip("-") if negated else bare
        words = tuple(word.lower() for word in WORD.findall(phrase))
        if not words:
            continue
        term = Term(words, phrase)
        if negated:
            parsed.excluded.append(term)
        elif pending_or:
            parsed.groups[-1].append(term)
        else:
            parsed.groups.append([term])
        pending_or, after_term = False, not negated
    return parsed


def jump_target(user, text: str) -> int | None:
    """The ticket `#123` or `123` names, if `user` may see it."""
    match = JUMP.fullmatch(text or "")
    if not match:
        return None
    number = int(match.group(1))
    if not 1 <= number <= MAX_ID:
        return None
    return number if Ticket.objects.visible_to(user).filter(pk=number).exists() else None


def _message_model():
    # Messages are the messaging app's, which depends on this one: reached through the
    # relation, not imported (accounts <- tickets <- messaging).
    return Ticket._meta.get_field("messages").related_model


def _vendor(tickets: QuerySet) -> str:
    return connections[tickets.db].vendor


def _postgres_query(parsed: ParsedQuery):
    return parsed.postgres()


def _fts5(queryset: QuerySet) -> bool:
    # Migrations made the FTS5 tables wherever SQLite has FTS5 (tickets/search_index.py).
    return search_index.fts5_available(connections[queryset.db])


def _message_filter(parsed: ParsedQuery, vendor: str, fts5: bool) -> Q:
    """Messages that match the query."""
    if vendor == "postgresql":
        return Q(search_vector=_postgres_query(parsed))
    if fts5:
        return Q(pk__in=_fts5_match(search_index.MESSAGES, parsed))
    return _substring_filter(parsed, ["content"])


def _substring_filter(parsed: ParsedQuery, columns: list[str]) -> Q:
    """Without FTS5: each group's words somewhere in one of the columns, none excluded."""

    def term_q(term: Term) -> Q:
        found = Q()
        for column in columns:
            found |= Q(**{f"{column}__icontains": " ".join(term.words)})
        return found

    condition = Q()
    for group in parsed.groups:
        either = Q()
        for term in group:
            either |= term_q(term)
        condition &= either
    for term in parsed.excluded:
        condition &= ~term_q(term)
    return condition


def _ticket_filter(parsed: ParsedQuery, vendor: str, fts5: bool) -> Q:
    if vendor == "postgresql":
        return Q(search_vector=_postgres_query(parsed))
    if fts5:
        return Q(pk__in=_fts5_match(search_index.TICKETS, parsed))
    return _substring_filter(parsed, ["title", "description"])


def _fts5_match(indexed: search_index.Indexed, parsed: ParsedQuery, column: str = "") -> RawSQL:
    """The rows of `indexed` whose FTS5 index matches (in `column` only, if given): the query
    is a parameter, and the table and column names are the fixed ones of search_index.py."""
    fts = indexed.fts
    expression = f"{column} : ({parsed.fts5()})" if column else parsed.fts5()
    return RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [expression])  # noqa: S608, S611


def visible_messages(parsed: ParsedQuery, *, staff: bool, using: str = "default") -> QuerySet:
    """The messages that match, of those a person may read (a customer: no internal notes)."""
    messages = _message_model().objects.using(using)
    vendor = connections[using].vendor
    fts5 = vendor == "sqlite" and _fts5(messages)
    messages = messages.filter(_message_filter(parsed, vendor, fts5))
    return messages if staff else messages.filter(is_internal=False)


def search_in(tickets: QuerySet, parsed: ParsedQuery, *, staff: bool) -> QuerySet:
    """`tickets` (a list's query: visibility and filters) narrowed to the newest
    SEARCH_MAX_HITS + 1 that match (the one more tells the page there are more)."""
    if not parsed.searchable:
        return tickets.none()
    if _vendor(tickets) == "postgresql":
        hits = [pk for (pk,) in newest_hits(tickets, parsed, staff=staff)]
        return tickets.alias(search_hit=_one_of(hits)).filter(search_hit=True)
    newest = _sqlite_matching(tickets, parsed, staff=staff).order_by("-pk").values("pk")
    return tickets.filter(pk__in=newest[: settings.SEARCH_MAX_HITS + 1])


def newest_hits(
    tickets: QuerySet,
    parsed: ParsedQuery,
    *,
    staff: bool,
    fields=("pk",),
    plan_key: str = "",
    **annotations,
) -> list[tuple]:
    """The newest SEARCH_MAX_HITS + 1 tickets of `tickets` that match (by creation on
    PostgreSQL, by number on SQLite) as tuples of `fields` (and `annotations`, in that order):
    one query for the hits and whatever a page sorts them by. `plan_key` names this search of
    this list (see _postgres_newest_hits), when the caller knows it."""
    if not parsed.searchable:
        return []
    fields = [*fields, *annotations]
    if _vendor(tickets) == "postgresql":
        return _postgres_newest_hits(
            tickets, parsed, staff=staff, fields=fields, plan_key=plan_key, **annotations
        )
    matching = _sqlite_matching(tickets, parsed, staff=staff).annotate(**annotations)
    return list(matching.order_by("-pk").values_list(*fields)[: settings.SEARCH_MAX_HITS + 1])


def _sqlite_matching(tickets: QuerySet, parsed: ParsedQuery, *, staff: bool) -> QuerySet:
    """`tickets` that match, on SQLite: FTS5 (or substrings) over the tickets and messages."""
    vendor = _vendor(tickets)
    fts5 = vendor == "sqlite" and _fts5(tickets)

    def anywhere(part: ParsedQuery, *, staff: bool = staff) -> Q:
        """The tickets where `part` matches their own text or one of their messages."""
        messages = visible_messages(part, staff=staff, using=tickets.db)
        # The tickets of the matching messages, found once (a correlated EXISTS ran the FTS5
        # query again for every ticket it looked at).
        return _ticket_filter(part, vendor, fts5) | Q(pk__in=messages.values("ticket_id"))

    # Each word (or group of alternatives) may be in any part of the ticket's conversation, as
    # on PostgreSQL; no excluded word in its own text or public messages (internal notes do not
    # exclude: a customer's hits are always among the staff's).
    condition = Q()
    for group in parsed.groups:
        condition &= anywhere(ParsedQuery(parsed.text, groups=[group]))
    if parsed.excluded:
        condition &= ~anywhere(ParsedQuery(parsed.text, groups=[parsed.excluded]), staff=False)
    return tickets.filter(condition)


# PostgreSQL: how common the words are is measured on this many tickets picked at random (by
# number), then the hits are walked for (newest first, testing each ticket) when that is
# expected to read at most WALK_MAX_ROWS tickets, else read from the words' GIN indexes.
SAMPLE_SIZE = 500
WALK_MAX_ROWS = 20_000
# The planner's choices a walk turns off: a walk is then its only plan.
WALK_SETTINGS = ("enable_bitmapscan", "enable_seqscan")
# How long the plan a sample chose is kept for the same search of the same list.
PLAN_SECONDS = 600


def _postgres_condition(parsed: ParsedQuery, *, staff: bool) -> tuple[dict, Q]:
    """The aliases to add to a ticket query and the condition: each group of words in the
    ticket's own text or its conversation's (tickets/search_index.py: the public messages'
    words, and for staff the internal notes'), no excluded word in its own text or public
    messages."""
    from django.contrib.postgres.search import SearchVectorField

    # Not model fields (Django must never write them): named for this query only. They name
    # the ticket table itself, as a query on the tickets does.
    table = Ticket._meta.db_table
    names = ["search_vector", "messages_vector"] + (["notes_vector"] if staff else [])
    aliases = {
        f"search_{name}": RawSQL(f'"{table}"."{name}"', [], SearchVectorField())  # noqa: S611
        for name in names
    }

    public = ["search_search_vector", "search_messages_vector"]

    def either(terms: list[Term]):
        query = terms[0].postgres()
        for term in terms[1:]:
            query = query | term.postgres()
        return query

    condition = Q()
    for group in parsed.groups:
        query = narrowed = either(group)
        # A ticket that matches has the group's words in some column and the excluded words in
        # no public one: in a public column, the group's words without the excluded ones. The
        # GIN index answers that (with the group's words alone, the bitmap held all 8% of the
        # tickets with "shared drive", each read to test the exclusion).
        for term in parsed.excluded:
            narrowed = narrowed & ~term.postgres()
        found = Q()
        for alias in aliases:
            found |= Q(**{alias: narrowed if alias in public else query})
        condition &= found
    if parsed.excluded:
        # Excluded words leave out the tickets whose own text or public messages hold them; a
        # word in an internal note only does not: the same for customers and staff, so that a
        # customer's hits are always among the staff's.
        query = either(parsed.excluded)
        excluded = Q()
        for alias in public:
            excluded |= Q(**{alias: query})
        condition &= ~excluded
    return aliases, condition


def _walking(cursor, on: bool, saved: list[str] | None = None) -> list[str]:
    """Turn the walk on (the planner may only read indexes in order: for a search, the list's
    date index, testing each ticket), or put back `saved` (None: leave the settings as they
    are). Local to the transaction. Returns the settings as they were."""
    values = ["off"] * len(WALK_SETTINGS) if on else saved
    if values is None:
        values = [None] * len(WALK_SETTINGS)
    # set_config(name, NULL, ...) is NULL and sets nothing: coalesce to the current value.
    calls = ", ".join(
        f"current_setting('{name}'),"
        f" set_config('{name}', coalesce(%s, current_setting('{name}')), true)"
        for name in WALK_SETTINGS
    )
    cursor.execute(f"SELECT {calls}", values)
    row = cursor.fetchone()
    return [row[2 * number] for number in range(len(WALK_SETTINGS))]


def _sample_says_walk(matching: QuerySet, parsed: ParsedQuery, *, limit: int, using: str) -> bool:
    """Whether walking the tickets newest first is expected to read at most WALK_MAX_ROWS of
    them before `limit` hits, from the share of SAMPLE_SIZE tickets picked at random that match."""
    highest = Ticket.objects.using(using).order_by("-pk").values_list("pk", flat=True)[:1]
    highest = next(iter(highest), 0)
    picks = random.Random(parsed.text).sample(range(1, highest + 1), min(SAMPLE_SIZE, highest))
    sample = matching.alias(search_sample=_one_of(picks)).filter(search_sample=True).order_by()
    sampled = len(sample.values_list("pk", flat=True))  # at most 500 numbers
    # Expected rows walked for the hits: the sample's share of them, among the whole table.
    return sampled > 0 and limit * len(picks) / sampled <= WALK_MAX_ROWS


def _one_of(ids: list[int]) -> RawSQL:
    """A ticket whose number is one of `ids`: one array parameter, not one per number (Django
    prepares each of an IN list's values in Python: 500 cost 5 ms)."""
    return RawSQL(f'"{Ticket._meta.db_table}"."id" = ANY(%s)', [ids], BooleanField())  # noqa: S611


def _postgres_newest_hits(
    tickets: QuerySet, parsed: ParsedQuery, *, staff: bool, fields, plan_key: str, **annotations
) -> list[tuple]:
    """The newest SEARCH_MAX_HITS + 1 tickets (by creation) of `tickets` that match, as tuples
    of `fields`, from the tickets alone (their own and their conversation's words are on them).

    A walk through the tickets newest first, testing each, is quick for a common word and
    reads the whole table for a rare one; reading a word's GIN index and sorting its tickets is
    the other way round. PostgreSQL's statistics cannot be trusted to choose: a word they do not
    list is taken for one in 0.5% of the tickets (it walked 3-9 s at a million tickets for a
    word in none), and a phrase for as rare as its words together (it read and sorted the 8% of
    the tickets that hold "shared drive": 0.3-0.9 s). The newest tickets cannot tell either: a
    word of the conversations is rarer there (they have had fewer replies: 0.8% of the last
    day's tickets hold "firefox", 21% of all). So the words are tested on SAMPLE_SIZE tickets
    taken at random from the list (by number: an index lookup each), and the share that match
    chooses the plan."""
    limit = settings.SEARCH_MAX_HITS + 1
    aliases, condition = _postgres_condition(parsed, staff=staff)
    matching = tickets.alias(**aliases).filter(condition)
    # The plan changes how long the search takes, never what it finds: the sample's choice is
    # kept for PLAN_SECONDS for the same search of the same list (the next page, the same search
    # again), as a word's share of the tickets does not change from one minute to the next.
    # The list and the search are named by the caller (the pages: the person, the filters and
    # the words), or by the query's SQL (which takes a compilation to write out).
    plan_key = plan_key or str(matching.query)
    key = "search-plan:" + hashlib.md5(plan_key.encode(), usedforsecurity=False).hexdigest()
    walk = cache_get(key, label="Search plan")
    if walk is None:
        walk = _sample_says_walk(matching, parsed, limit=limit, using=tickets.db)
        cache_set(key, walk, PLAN_SECONDS, label="Search plan")
    if walk:
        newest = matching.order_by("-created_at", "-pk")
    else:
        # From the words' indexes: "+ 0 days" keeps PostgreSQL from walking the dates.
        unwalked = ExpressionWrapper(F("created_at") + timedelta(0), output_field=DateTimeField())
        newest = matching.order_by(unwalked.desc(), "-pk")
    # Computed for the hits only, once they are found (the rank of "best match").
    newest = newest.annotate(**annotations).values_list(*fields)[:limit]
    if not walk:  # the planner's own choice: nothing to set
        return list(newest)
    connection = connections[tickets.db]
    # The settings are local to the transaction: they end with it, unless it is a caller's
    # (a test, ATOMIC_REQUESTS), who then gets them back as they were.
    outer = connection.in_atomic_block
    with transaction.atomic(using=tickets.db), connection.cursor() as cursor:
        saved = _walking(cursor, True)
        found = list(newest)
        if outer:
            _walking(cursor, False, saved)
    return found


def _rank(tickets: QuerySet, parsed: ParsedQuery) -> tuple[dict, tuple[str, ...]]:
    """The "best match" order, as an annotation and the order's keys: PostgreSQL ranks by
    ts_rank_cd (title words weigh more than the description's; tickets found by a message only
    come last), SQLite puts the tickets whose title matches first; then newest activity."""
    if _vendor(tickets) == "postgresql":
        from django.contrib.postgres.search import SearchRank

        rank = SearchRank(F("search_vector"), _postgres_query(parsed), cover_density=True)
        return {"search_rank": rank}, ("-search_rank", "-last_activity_at", "-pk")
    if _fts5(tickets):
        # The tickets whose title matches first (one FTS5 query with a column filter, read
        # once): bm25 asked for each of a thousand hits took seconds at 100,000 tickets.
        in_title = _fts5_match(search_index.TICKETS, parsed, column="title")
        title_first = Case(When(pk__in=in_title, then=Value(0)), default=Value(1))
        return {"search_rank": title_first}, ("search_rank", "-last_activity_at", "-pk")
    return {}, TicketQuerySet.SORTS[TicketQuerySet.DEFAULT_SORT]


def in_order(rows: list[tuple], fields: list[str], keys: tuple[str, ...]) -> list[int]:
    """The ids (the first field) of `rows`, tuples of `fields`, in the order of `keys` (names
    of `fields`, "-" first for descending, as order_by takes them): one stable sort per key,
    the last key first."""
    rows = list(rows)
    for key in reversed(keys):
        position = fields.index(key.lstrip("-"))
        rows.sort(key=itemgetter(position), reverse=key.startswith("-"))
    return [row[0] for row in rows]


@dataclass
class SearchResult:
    """What a list shows for a search: `hits`, the ids of the tickets that match in the
    list's order (at most `limit` of them are paged; one more means there are more), whose
    rows are read from the list's own `visible` query a page at a time; or `jump`, a ticket to
    go to."""

    query: ParsedQuery
    hits: list[int]
    visible: QuerySet
    jump: int | None = None
    limit: int = 0

    def rows(self, ids: list[int], *, viewer) -> list[dict]:
        """A page of the hits (`ids`, in order) as list_rows gives them, in that order, with
        each ticket's description for its snippet: one query."""
        page = self.visible.filter(pk__in=ids).order_by()
        rows = list_rows(page, viewer=viewer, extra=("description",))
        position = {pk: number for number, pk in enumerate(ids)}
        rows.sort(key=lambda row: position[row["pk"]])
        return rows


def search_tickets(user, query: str, filters: dict | None = None) -> SearchResult:
    """The tickets `user` may see that match `query`, within the list's `filters` (those of
    tickets.selectors.ticket_list_for; `sort` may also be "best"). `#123` or `123` is a jump
    to that ticket if `user` may see it (otherwise the number is searched like any word).
    One query finds the hits with what the list's order needs; they are sorted here."""
    filters = dict(filters or {})
    sort = filters.pop("sort", "") or TicketQuerySet.DEFAULT_SORT
    parsed = parse(query)
    jump = jump_target(user, parsed.text)
    tickets = ticket_list_for(user, **filters)
    rank, keys = ({}, TicketQuerySet.SORTS[sort]) if sort != BEST_MATCH else _rank(tickets, parsed)
    # The id and what the order sorts by, nothing more (each date is parsed in Python: 201 of
    # them cost about half a millisecond).
    sorted_by = dict.fromkeys(["pk", *(key.lstrip("-") for key in keys)])
    columns = [name for name in sorted_by if name not in rank]
    plan_key = repr((user.pk, sorted(filters.items()), parsed.text))
    found = newest_hits(
        tickets, parsed, staff=user.is_staff, fields=columns, plan_key=plan_key, **rank
    )
    return SearchResult(
        query=parsed,
        hits=in_order(found, [*columns, *rank], keys),
        visible=tickets,
        jump=jump,
        limit=settings.SEARCH_MAX_HITS,
    )


# --- Snippets: where the words were found ----------------------------------------------------

SNIPPET_LENGTH = 220
SNIPPET_LEAD = 60


def _word_pattern(words: list[str]) -> re.Pattern | None:
    return _pattern_of(tuple(words))


@functools.lru_cache(maxsize=256)
def _pattern_of(words: tuple[str, ...]) -> re.Pattern | None:
    """The words as one pattern, made once for a page's 25 titles and snippets."""
    if not words:
        return None
    return re.compile(r"(?<![^\W_])(?:" + "|".join(map(re.escape, words)) + r")(?![^\W_])", re.I)


def highlight(
    text: str, words: list[str], *, length: int | None = SNIPPET_LENGTH
) -> list[tuple[str, bool]]:
    """`text` (with `length`: about that much of it, around the first word found) as
    (text, is_hit) pieces. The template marks the hits and escapes every piece: nothing here
    is HTML."""
    text = " ".join(text.split())
    pattern = _word_pattern(words)
    first = pattern.search(text) if pattern else None
    start, end = 0, len(text)
    if length is not None:
        if first and first.start() > SNIPPET_LEAD:
            start = text.rfind(" ", 0, first.start() - SNIPPET_LEAD) + 1
        if start + length < len(text):
            end = text.rfind(" ", start, start + length)
            end = max(end, first.end() if first else 0) if end > start else start + length
    window = text[start:end]
    pieces: list[tuple[str, bool]] = []
    if start > 0:
        pieces.append(("… ", False))
    position = 0
    for hit in pattern.finditer(window) if pattern else ():
        if hit.start() > position:
            pieces.append((window[position : hit.start()], False))
        pieces.append((hit.group(), True))
        position = hit.end()
    if position < len(window):
        pieces.append((window[position:], False))
    if end < len(text):
        pieces.append((" …", False))
    return pieces


def _has_word(text: str, words: list[str]) -> bool:
    pattern = _word_pattern(words)
    return bool(pattern and pattern.search(text))


def snippets(rows: list[dict], result: SearchResult, *, user) -> None:
    """Add to each row of a page of search results (SearchResult.rows: with its ticket's
    `description`, which is taken out) `title_pieces` (the title, its words marked) and
    `snippet`: {"where": "description" | "message" | "note", "by", "at", "pieces"}. One query
    at most whatever the page holds: the first matching message (that `user` may read) of each
    ticket whose description has none of the words."""
    if not rows:
        return
    words = result.query.words()
    descriptions = {row["pk"]: row.pop("description") for row in rows}
    # A ticket's description is its snippet when it holds a word: the messages are read only
    # for the others (none: no query).
    elsewhere = [pk for pk, text in descriptions.items() if not _has_word(text, words)]
    found = {}
    if elsewhere:
        messages = visible_messages(result.query, staff=user.is_staff).filter(
            ticket_id__in=elsewhere
        )
        first = messages.values("ticket_id").annotate(first=Min("pk")).values("first")
        found = {
            message["ticket_id"]: message
            for message in _message_model()
            .objects.filter(pk__in=first)
            .values(
                "ticket_id",
                "content",
                "is_internal",
                "created_at",
                sender_name=F("sender__username"),
            )
        }
    for row in rows:
        row["title_pieces"] = highlight(row["title"], words, length=None)
        description = descriptions[row["pk"]]
        message = found.get(row["pk"])
        if message is not None:
            row["snippet"] = {
                "where": "note" if message["is_internal"] else "message",
                "by": message["sender_name"],
                "at": message["created_at"],
                "pieces": highlight(message["content"], words),
            }
        else:
            row["snippet"] = {"where": "description", "pieces": highlight(description, words)}


# --- The admin's ticket search ---------------------------------------------------------------

# The most reporters a search term names in the admin (their tickets are listed too).
ADMIN_REPORTERS = 100


def search_for_admin(tickets: QuerySet, text: str) -> QuerySet:
    """The admin changelist's search (staff only) within its filtered `tickets`: the same
    search as the lists, plus the ticket with that number and the tickets of the reporters
    whose username or email address contains the text. The hits and the reporters are read
    first (two short queries), so the list's own query is an index lookup of ids, not an OR
    across a join that would read every ticket."""
    parsed = parse(text)
    hits = [pk for (pk,) in newest_hits(tickets, parsed, staff=True)]
    condition = Q(pk__in=hits)
    number = JUMP.fullmatch(parsed.text)
    if number and 1 <= int(number.group(1)) <= MAX_ID:
        condition |= Q(pk=int(number.group(1)))
    if parsed.text:
        people = get_user_model().objects.filter(
            Q(username__icontains=parsed.text) | Q(email__icontains=parsed.text)
        )
        reporters = list(people.values_list("pk", flat=True)[:ADMIN_REPORTERS])
        condition |= Q(reporter_id__in=reporters)
    return tickets.filter(condition)
