"""catalogue: fast typo-tolerant directory search — the directory's words, for trigram matching

Trigram similarity of a query word against every row's whole `search_text` costs about 20 µs a row
(100 ms over 5,000 services) whenever the planner scans the table rather than the trigram index, and
at this size it often does. Instead search.py matches a query word against `directory_word`: every
distinct word of the directory's `search_text`, four letters or more, through a GiST trigram index.
The most similar words then become a full-text query (the words, stemmed) that the existing GIN index
on `search` answers, so a fuzzy match costs about as much as an exact one.

The words are letters and digits only (checked), so search.py may join them into tsquery text.
The list is filled by triggers from what PostgreSQL generates, so directory.py need not know of it.
Words of withdrawn services are not removed: a stale word only ever widens a fuzzy query to a word
no row has.

Revision ID: c0003
Revises: c0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "c0003"
down_revision = "c0002"
branch_labels = None
depends_on = None

# The words of a search_text, four letters or more (shorter query words are not matched fuzzily).
WORDS = "regexp_split_to_table({}, '[^[:alnum:]]+') AS w WHERE length(w) BETWEEN 4 AND 100"


def upgrade():
    op.create_table(
        "directory_word",
        sa.Column("word", sa.Text, primary_key=True),
        sa.CheckConstraint("word ~ '^[[:alnum:]]+$'", name="directory_word_letters_and_digits"),
    )
    # GiST rather than GIN: the planner's estimate for GIN often loses to a sequential scan, which runs
    # word_similarity on every word (100 ms over 60,000 words); GiST it always takes (10 ms at that size)
    op.execute("CREATE INDEX directory_word_trgm ON directory_word USING gist (word gist_trgm_ops)")
    # in word order, so that two services adding the same new words wait for each other rather than deadlock
    op.execute(f"""
        CREATE FUNCTION directory_word_collect() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO directory_word (word)
            SELECT DISTINCT w FROM {WORDS.format("NEW.search_text")} ORDER BY w
            ON CONFLICT (word) DO NOTHING;
            RETURN NULL;
        END $$;
        CREATE TRIGGER directory_word_collect AFTER INSERT ON directory_service
            FOR EACH ROW EXECUTE FUNCTION directory_word_collect();
        CREATE TRIGGER directory_word_collect_changed AFTER UPDATE ON directory_service
            FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text)
            EXECUTE FUNCTION directory_word_collect();
    """)
    op.execute(f"INSERT INTO directory_word (word) SELECT DISTINCT w FROM directory_service, "
               f"{WORDS.format('search_text')} ON CONFLICT (word) DO NOTHING")
    op.drop_index("directory_service_trgm", "directory_service")  # whole-text trigrams: replaced by the words


def downgrade():
    op.execute("CREATE INDEX directory_service_trgm ON directory_service USING gin (search_text gin_trgm_ops)")
    op.execute("DROP TRIGGER directory_word_collect_changed ON directory_service; "
               "DROP TRIGGER directory_word_collect ON directory_service; DROP FUNCTION directory_word_collect();")
    op.drop_table("directory_word")
