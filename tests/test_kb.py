"""Knowledge base: loading, chunking, incremental ingest, hybrid search (BM25 + embeddings) in Qdrant local mode."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import textwrap
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient, models

from kb import Article, IngestReport, KnowledgeBase, chunk_article, load_articles, open_qdrant
from kb.benchmark import run_bench
from kb.chunking import MAX_WORDS
from kb.embeddings import LAYERS, Embedder, shared_embedder
from kb.evaluation import score_rankings
from kb.expansion import expand_query, query_windows, shift_windows
from kb.fusion import fuse
from kb.hits import SNIPPET_CHARS
from kb.mirror import Ranked
from kb.sparse import SparseVec, encode_document, encode_query, term_index, tokenize
from settings import Settings, get_settings
from supportctl.main import main as supportctl_main

TAU2_KB = Path("/work/shared/datasets/tau2_banking_knowledge/kb_documents.jsonl")

# Small help centre: the API articles share vocabulary ("API", "requests", "errors") on purpose, so
# the 429 query has to be won on the terms that matter.
ARTICLES: dict[str, tuple[str, str, str]] = {
    "rate-limits": (
        "API rate limits and HTTP 429 Too Many Requests",
        "technical",
        """
        ## What the limits are
        Every API key may send 100 requests per second, with short bursts up to 200.

        ## When you exceed the limit
        The API answers with status 429 Too Many Requests and a Retry-After header that says how
        many seconds to wait. Back off exponentially, add jitter, and retry after that delay.
        """,
    ),
    "api-auth": (
        "API keys and 401 Unauthorized errors",
        "technical",
        """
        ## Creating keys
        Create API keys under Settings. Every request to the API must send the key.

        ## Troubleshooting errors
        A 401 Unauthorized error means the key is missing, revoked or mistyped. Errors from the
        API include a request id: send it to support with the full error message.
        """,
    ),
    "webhooks": (
        "Webhook delivery and retries",
        "technical",
        """
        We send webhook requests to your endpoint. If your endpoint returns errors (any 5xx
        status) or times out, we retry with exponential backoff for up to three days, and the API
        dashboard lists every failed request.
        """,
    ),
    "plan-quotas": (
        "Plan quotas and monthly request allowances",
        "billing",
        """
        Each plan includes a monthly allowance of API requests: Starter 100,000, Pro 1,000,000.
        Requests above the allowance are billed as overage on your next invoice; the limit resets
        on the first day of the month.
        """,
    ),
    "refunds": (
        "Refunds for annual plans",
        "billing",
        """
        Annual plans can be refunded within 30 days of purchase. Open Billing, choose the invoice
        and press Request refund; the money is back on your card within ten business days.
        """,
    ),
    "password-reset": (
        "Resetting your password",
        "account",
        """
        Use the Forgot password link on the sign-in page. The reset e-mail expires after one hour;
        if it never arrives, check the spam folder or ask your workspace admin.
        """,
    ),
}

RATE_LIMIT_QUERY = "I keep getting 429 Too Many Requests errors from the API"
HELP_URL = "https://help.example.com/articles/{id}"  # the team's help centre (KB_ARTICLE_URL)


def write_article(folder: Path, article_id: str, title: str, category: str, body: str) -> Path:
    path = folder / f"{article_id}.md"
    front = f"---\ntitle: {title}\ncategory: {category}\ntags: [help]\n---\n"
    path.write_text(front + f"# {title}\n\n" + textwrap.dedent(body).strip() + "\n", encoding="utf-8")
    return path


@pytest.fixture
def help_centre(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for article_id, (title, category, body) in ARTICLES.items():
        write_article(folder, article_id, title, category, body)
    return folder


@pytest.fixture
async def client() -> AsyncIterator[AsyncQdrantClient]:
    qdrant = AsyncQdrantClient(location=":memory:")
    yield qdrant
    await qdrant.close()


@pytest.fixture
async def kb(client: AsyncQdrantClient, help_centre: Path) -> KnowledgeBase:
    knowledge = KnowledgeBase(client)
    await knowledge.ensure_collection()
    report = await knowledge.ingest(load_articles([help_centre], HELP_URL))
    assert report.added == len(ARTICLES)
    return knowledge


class CallCounter:
    """Wraps one client method and counts how often it is awaited."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client: AsyncQdrantClient, name: str) -> None:
        self.calls = 0
        original = getattr(client, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await original(*args, **kwargs)

        monkeypatch.setattr(client, name, counted)


# --- search ----------------------------------------------------------------------------------


async def test_rate_limit_article_ranks_first_for_a_429_complaint(kb: KnowledgeBase) -> None:
    hits = await kb.search(RATE_LIMIT_QUERY)

    assert hits[0].article_id == "rate-limits"
    assert hits[0].url == "https://help.example.com/articles/rate-limits"
    assert hits[0].category == "technical"
    assert "429" in hits[0].text and hits[0].text.startswith(hits[0].title)
    assert len(hits) == len({hit.article_id for hit in hits}), "one hit per article"
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert all(len(hit.snippet) <= SNIPPET_CHARS for hit in hits)


async def test_category_filter_keeps_only_that_category(kb: KnowledgeBase) -> None:
    hits = await kb.search("API request limits", category="billing")

    assert hits, "the billing quota article matches"
    assert {hit.category for hit in hits} == {"billing"}
    assert "rate-limits" not in {hit.article_id for hit in hits}
    assert "rate-limits" in {hit.article_id for hit in await kb.search("API request limits")}


def write_product_articles(folder: Path) -> Path:
    """Two products with the same kind of article: only the product tells them apart."""
    folder.mkdir()
    for product, word in (("Mobile app", "app"), ("Web dashboard", "dashboard")):
        slug = word.lower()
        (folder / f"reset-{slug}.md").write_text(
            f"---\ntitle: Resetting your password in the {word}\ncategory: account\nproduct: {product}\n---\n"
            f"Use Forgot password on the {word} sign-in screen; the reset e-mail expires after one hour.\n",
            encoding="utf-8",
        )
        (folder / f"invoices-{slug}.md").write_text(
            f"---\ntitle: Downloading invoices from the {word}\ncategory: billing\nproduct: {product}\n---\n"
            f"Invoices for your password-protected account are under Billing in the {word}.\n",
            encoding="utf-8",
        )
    return folder


async def test_product_filter_keeps_only_that_products_articles(client: AsyncQdrantClient, tmp_path: Path) -> None:
    knowledge = KnowledgeBase(client, collection="products")
    await knowledge.ensure_collection()
    await knowledge.ingest(load_articles([write_product_articles(tmp_path / "kb")]))
    query = "I forgot my password"

    everything = await knowledge.search(query, limit=10)
    assert {h.product for h in everything} == {"Mobile app", "Web dashboard"}
    for path in ("local", "server"):
        knowledge._local = path == "local"
        app = await knowledge.search(query, limit=10, product="Mobile app")
        assert [h.article_id for h in app][:1] == ["reset-app"], path
        assert {h.product for h in app} == {"Mobile app"}, path
        both = await knowledge.search(query, limit=10, product="Web dashboard", category="account")
        assert [h.article_id for h in both] == ["reset-dashboard"], path
        assert await knowledge.search(query, product="Desktop client") == [], path


async def test_a_products_search_can_include_the_articles_every_product_shares(
    client: AsyncQdrantClient, tmp_path: Path
) -> None:
    """What the agents search for a ticket about one product: its articles and those naming no
    product (account-wide how-tos), never another product's."""
    folder = write_product_articles(tmp_path / "kb")
    (folder / "password-policy.md").write_text(
        "---\ntitle: Password rules for every account\ncategory: account\n---\n"
        "A password needs twelve characters; forgot it? Any sign-in screen offers a reset.\n",
        encoding="utf-8",
    )
    knowledge = KnowledgeBase(client, collection="shared")
    await knowledge.ensure_collection()
    await knowledge.ingest(load_articles([folder]))
    query = "I forgot my password"

    for path in ("local", "server"):
        knowledge._local = path == "local"
        only = await knowledge.search(query, limit=10, product="Mobile app")
        shared = await knowledge.search(query, limit=10, product="Mobile app", include_shared=True)
        assert "password-policy" not in {h.article_id for h in only}, path
        assert {h.article_id for h in shared} == {h.article_id for h in only} | {"password-policy"}, path
        assert {h.product for h in shared} == {"Mobile app", ""}, path
        unknown = await knowledge.search(query, limit=10, product="Desktop client", include_shared=True)
        assert [h.article_id for h in unknown] == ["password-policy"], path


async def test_a_server_collection_from_before_the_product_filter_gets_its_index(
    kb: KnowledgeBase, client: AsyncQdrantClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    original = client.create_payload_index

    async def create_payload_index(collection: str, field_name: str, **kwargs: Any) -> Any:
        created.append(field_name)
        return await original(collection, field_name, **kwargs)

    monkeypatch.setattr(client, "create_payload_index", create_payload_index)
    info = await client.get_collection(kb.collection)
    # What a server reports for a collection indexed before `product` existed.
    monkeypatch.setattr(info, "payload_schema", dict.fromkeys(["category", "article_id", "chunk_no"]))

    async def get_collection(_name: str) -> Any:
        return info

    monkeypatch.setattr(client, "get_collection", get_collection)
    kb._local = False

    assert await kb.ensure_collection() is False, "the collection and its points are kept"
    assert created == ["product"]


async def test_tagging_an_article_with_a_product_reindexes_only_that_article(
    client: AsyncQdrantClient, help_centre: Path
) -> None:
    knowledge = KnowledgeBase(client, collection="retag")
    await knowledge.ensure_collection()
    await knowledge.ingest(load_articles([help_centre], HELP_URL))
    path = help_centre / "refunds.md"
    path.write_text(path.read_text().replace("category: billing\n", "category: billing\nproduct: Analytics\n"))

    report = await knowledge.ingest(load_articles([help_centre], HELP_URL))

    assert (report.updated, report.unchanged) == (1, len(ARTICLES) - 1)
    assert [h.article_id for h in await knowledge.search("refund annual plan", product="Analytics")] == ["refunds"]


@pytest.mark.parametrize("query", ["", "   ", "the and of it is", "?!"])
async def test_query_without_searchable_words_returns_nothing(kb: KnowledgeBase, query: str) -> None:
    assert await kb.search(query) == []


async def test_limit_caps_the_number_of_articles(kb: KnowledgeBase) -> None:
    assert len(await kb.search("API requests errors", limit=2)) == 2


# --- incremental ingest ----------------------------------------------------------------------


async def test_reingesting_unchanged_articles_writes_nothing(
    kb: KnowledgeBase, client: AsyncQdrantClient, help_centre: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upserts = CallCounter(monkeypatch, client, "upsert")
    deletes = CallCounter(monkeypatch, client, "delete")

    report = await kb.ingest(load_articles([help_centre], HELP_URL))

    assert report == IngestReport(added=0, updated=0, unchanged=len(ARTICLES), deleted=0, chunks=0)
    assert (upserts.calls, deletes.calls) == (0, 0)
    assert await kb.count_articles() == len(ARTICLES)


async def test_editing_one_article_updates_only_that_one(kb: KnowledgeBase, help_centre: Path) -> None:
    title, category, _ = ARTICLES["password-reset"]
    write_article(help_centre, "password-reset", title, category, "Passkeys replace passwords from June.")

    report = await kb.ingest(load_articles([help_centre], HELP_URL))

    assert (report.added, report.updated, report.unchanged, report.deleted) == (0, 1, len(ARTICLES) - 1, 0)
    assert report.chunks == 1
    hits = await kb.search("passkeys")
    assert hits[0].article_id == "password-reset"
    assert [hit.article_id for hit in await kb.search("passkeys", mode="bm25")] == ["password-reset"]


async def test_shrinking_an_article_removes_its_surplus_chunks(client: AsyncQdrantClient) -> None:
    knowledge = KnowledgeBase(client, collection="shrink")
    await knowledge.ensure_collection()
    other = Article("other", "Another article", "billing", "Unrelated text.")
    sections = "\n\n".join(f"## Part {n}\n" + " ".join(["invoice"] * 150) for n in range(4))
    long = Article("long", "A long article", "billing", sections)
    await knowledge.ingest([other, long])
    assert await points_of(client, "shrink", "long") == len(chunk_article(long)) > 1

    short = Article("long", "A long article", "billing", "Now one short paragraph.")
    report = await knowledge.ingest([other, short])

    assert (report.updated, report.unchanged, report.chunks) == (1, 1, 1)
    assert await points_of(client, "shrink", "long") == 1


async def test_a_hit_brings_its_articles_next_best_section(client: AsyncQdrantClient) -> None:
    """The best chunk of the reset article is the SSO section (it names "Forgot password?" and "reset the
    password"); the steps sit in the section before it, which a reply quoting the procedure needs."""
    filler = " ".join(["Passwords must be long and unique for every service you use."] * 12)
    body = (
        "## Resetting a forgotten password\n\n1. Open the login page and click Forgot password.\n"
        "2. Enter your email.\n3. Click the link in the reset email.\n\n" + filler + "\n\n"
        "## Your organization uses SSO\n\nWith SSO the Forgot password link tells you to use SSO: to reset "
        "the password, forgot password requests go to your IT team.\n\n" + filler
    )
    knowledge = KnowledgeBase(client, collection="sections")
    await knowledge.ensure_collection()
    await knowledge.ingest(
        [Article("reset", "Resetting your password", "account", body), Article("other", "Invoices", "billing", "PDFs.")]
    )
    [hit] = [h for h in await knowledge.search("forgot password reset SSO") if h.article_id == "reset"]
    assert "Your organization uses SSO" in hit.text.splitlines()[0]
    assert hit.more.startswith("## Resetting a forgotten password\n\n1. Open the login page")
    [invoices] = [h for h in await knowledge.search("invoices PDFs") if h.article_id == "other"]
    assert invoices.more == ""  # a one-section article has nothing more to bring


async def test_the_best_hit_brings_its_whole_article_and_a_later_hit_one_more_section(
    client: AsyncQdrantClient,
) -> None:
    """A how-to's facts are spread over an article's sections ("what happens when a payment fails" holds the
    14 days; the section matching "card declined" does not): the best hits carry every other section, best
    matching first; a lower hit only its next best one."""
    filler = " ".join(["Card payments are processed by our payment provider every month."] * 25)
    failed = Article(
        "failed",
        "Failed payments",
        "billing",
        f"## Why cards get declined\n\nYour bank declined the card charge. {filler}\n\n"
        f"## What happens next\n\nYour plan keeps working for 14 days after the first failure. {filler}\n\n"
        f"## Paying manually\n\nOpen the invoice and click Pay now. {filler}",
    )
    others = [
        Article(
            f"other{n}",
            f"Unrelated {n}",
            "billing",
            "\n\n".join(f"## Part {part}\n\nThe card was declined by the bank. {filler}" for part in range(3)),
        )
        for n in range(3)
    ]
    knowledge = KnowledgeBase(client, collection="whole")
    await knowledge.ensure_collection()
    await knowledge.ingest([failed, *others])
    hits = await knowledge.search("my card was declined by the bank", limit=4)
    [best] = [h for h in hits if h.article_id == "failed"]
    assert hits.index(best) < 2
    whole = f"{best.text}\n\n{best.more}"
    assert all(heading in whole for heading in ("Why cards get declined", "What happens next", "Paying manually"))
    assert "14 days" in best.more  # not in the chunk that matched
    later = hits[2:]
    assert later and all(h.more.count("## ") == 1 for h in later)  # three sections each: one more, not two


async def test_removed_article_is_deleted_and_no_longer_found(kb: KnowledgeBase, help_centre: Path) -> None:
    (help_centre / "rate-limits.md").unlink()

    report = await kb.ingest(load_articles([help_centre], HELP_URL))

    assert (report.deleted, report.unchanged, report.chunks) == (1, len(ARTICLES) - 1, 0)
    assert await kb.count_articles() == len(ARTICLES) - 1
    assert "rate-limits" not in {hit.article_id for hit in await kb.search(RATE_LIMIT_QUERY)}


async def test_progress_counts_chunks_up_to_the_total(client: AsyncQdrantClient, help_centre: Path) -> None:
    knowledge = KnowledgeBase(client, collection="progress")
    await knowledge.ensure_collection()
    seen: list[tuple[int, int]] = []

    report = await knowledge.ingest(
        load_articles([help_centre], HELP_URL), progress=lambda *done_total: seen.append(done_total)
    )

    assert seen[0] == (0, report.chunks) and seen[-1] == (report.chunks, report.chunks)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


async def test_local_folder_survives_a_restart_without_reindexing(tmp_path: Path, help_centre: Path) -> None:
    folder = tmp_path / "qdrant" / "kb"
    articles = load_articles([help_centre], HELP_URL)
    first = open_qdrant(str(folder), None)
    knowledge = KnowledgeBase(first)
    await knowledge.ensure_collection()
    await knowledge.ingest(articles)
    await first.close()

    second = open_qdrant(str(folder), None)
    try:
        again = KnowledgeBase(second)
        await again.ensure_collection()
        report = await again.ingest(articles)
        assert (report.unchanged, report.chunks) == (len(ARTICLES), 0)
        assert (await again.search(RATE_LIMIT_QUERY))[0].article_id == "rate-limits"
    finally:
        await second.close()


# --- loading ---------------------------------------------------------------------------------


def test_markdown_front_matter_defaults(help_centre: Path) -> None:
    (article,) = [a for a in load_articles([help_centre], HELP_URL) if a.id == "refunds"]
    (unlinked,) = [a for a in load_articles([help_centre]) if a.id == "refunds"]

    assert (article.title, article.category) == ("Refunds for annual plans", "billing")
    assert article.tags == ("help",)
    assert article.url == "https://help.example.com/articles/refunds"
    assert unlinked.url == "", "no address is invented for a team that gave no KB_ARTICLE_URL"
    assert article.body.startswith("# Refunds for annual plans")


def test_overlapping_paths_are_named_as_such(help_centre: Path) -> None:
    with pytest.raises(ValueError, match=r"refunds\.md:1: given twice \(the paths overlap\)"):
        load_articles([help_centre, help_centre / "refunds.md"])


def test_a_plain_markdown_page_with_a_title_line_is_an_article(tmp_path: Path) -> None:
    (tmp_path / "vpn-setup.md").write_text("\ufeff# Setting up the VPN\n\nInstall the client first.\n")

    (article,) = load_articles([tmp_path])  # a byte-order mark (Windows editors) is no obstacle either

    assert (article.id, article.title, article.category) == ("vpn-setup", "Setting up the VPN", "general")
    assert article.body == "Install the client first."


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("---\ntitle: [unclosed\ncategory: billing\n---\nbody\n", None),
        ("---\ntitle: Fine\ncategory: billing\nbody without a closing line\n", 1),
        ("No front matter and no title\n\nbody\n", 1),
        ("---\ncategory: billing\n---\nbody\n", 2),
        ("---\n- just\n- a list\n---\nbody\n", 2),
    ],
)
def test_malformed_markdown_names_the_file(tmp_path: Path, text: str, line: int | None) -> None:
    path = tmp_path / "broken-article.md"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValueError, match="broken-article.md") as caught:
        load_articles([path])
    if line is not None:
        assert f"broken-article.md:{line}:" in str(caught.value)


HELP_PAGE = """<!doctype html>
<html><head>
  <title>Exporting data to S3</title>
  <meta name="category" content="technical"><meta name="product" content="Analytics">
  <meta name="keywords" content="export, s3, bucket">
  <link rel="canonical" href="https://help.example.com/s3-export">
  <style>.hidden { display: none }</style><script>trackPageView("zebrafish")</script>
</head><body>
  <nav><a href="/">Help centre</a> &gt; <a href="/data">Data</a></nav>
  <header><h1>Exporting data to S3</h1></header>
  <article>
    <p>Nightly exports write one <strong>Parquet</strong> file per table to your bucket.</p>
    <h2>Access denied errors</h2>
    <p>An export that fails with <em>AccessDenied</em> means the bucket policy no longer trusts our role.</p>
    <ol><li><p>Open the bucket policy</p></li><li>Add the role ARN &amp; save</li></ol>
    <table><tr><th>Plan</th><th>Exports</th></tr><tr><td>Pro</td><td>daily</td></tr></table>
  </article>
  <footer>© Lumora · Privacy</footer>
</body></html>
"""


def test_html_pages_load_with_their_metadata_headings_and_text(tmp_path: Path) -> None:
    (tmp_path / "s3-export.html").write_text(HELP_PAGE, encoding="utf-8")

    (article,) = load_articles([tmp_path])

    assert (article.id, article.title, article.category, article.product) == (
        "s3-export",
        "Exporting data to S3",
        "technical",
        "Analytics",
    )
    assert article.tags == ("export", "s3", "bucket") and article.url == "https://help.example.com/s3-export"
    assert "## Access denied errors" in article.body.splitlines()
    assert {"- Open the bucket policy", "- Add the role ARN & save"} <= set(article.body.splitlines())
    assert "Pro | daily" in article.body
    assert "one Parquet file per table" in article.body
    for furniture in ("zebrafish", "hidden", "Help centre", "Privacy", "# Exporting data to S3"):
        assert furniture not in article.body
    (chunk,) = chunk_article(article)  # a short page: one chunk, its headings kept in the indexed text
    assert chunk.text.startswith("Exporting data to S3") and "Access denied errors" in chunk.text


async def test_an_html_article_is_found_by_its_text(client: AsyncQdrantClient, tmp_path: Path) -> None:
    (tmp_path / "s3-export.html").write_text(HELP_PAGE, encoding="utf-8")
    knowledge = KnowledgeBase(client, collection="html")
    await knowledge.ensure_collection()
    await knowledge.ingest(load_articles([tmp_path]))

    (hit,) = await knowledge.search("export fails with AccessDenied on my bucket", limit=1)
    assert (hit.article_id, hit.product) == ("s3-export", "Analytics")
    assert await knowledge.search("zebrafish", mode="bm25") == [], "script text is not indexed"


def test_jsonl_content_in_html_is_read_as_html(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    content = "<h1>Refunds</h1><p>Annual plans are refunded within <b>30 days</b>.</p><h2>How</h2><p>Open Billing.</p>"
    row = {"id": "refunds", "title": "Refunds", "content": content, "product": "Analytics"}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")

    (article,) = load_articles([path])

    assert article.body == "Annual plans are refunded within 30 days.\n\n## How\n\nOpen Billing."
    assert article.product == "Analytics"


def test_markdown_content_with_inline_html_stays_markdown(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    content = "## Saving\n\nPress <b>Save</b>, then <a href='/x'>reload</a> the page.\n\n## Undo\n\nPress Undo."
    path.write_text(json.dumps({"id": "save", "title": "Saving", "content": content}) + "\n", encoding="utf-8")

    (article,) = load_articles([path])

    assert article.body == content


def test_an_older_html_page_is_read_in_the_charset_it_declares(tmp_path: Path) -> None:
    page = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    page += "<title>Café menu</title></head><body><p>Crème brûlée – € 5</p></body></html>"
    (tmp_path / "menu.html").write_bytes(page.encode("cp1252"))
    (tmp_path / "undeclared.html").write_bytes(page.replace("; charset=windows-1252", "").encode("cp1252"))

    (article,) = load_articles([tmp_path / "menu.html"])

    assert (article.title, article.body) == ("Café menu", "Crème brûlée – € 5")
    with pytest.raises(ValueError, match=r"undeclared\.html:1: not valid UTF-8"):
        load_articles([tmp_path / "undeclared.html"])


def test_an_html_page_without_a_title_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "untitled.htm"
    path.write_text("<html><body><p>Some text, but no title anywhere.</p></body></html>", encoding="utf-8")

    with pytest.raises(ValueError, match=r"untitled\.htm:1: .*no <title> and no <h1>"):
        load_articles([path])


def test_malformed_jsonl_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    good = '{"id": "a", "title": "A", "content": "text"}'
    path.write_text(f"{good}\n\n{{not json\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"kb\.jsonl:3: invalid JSON"):
        load_articles([path])


def test_duplicate_ids_are_rejected(tmp_path: Path, help_centre: Path) -> None:
    (tmp_path / "extra.jsonl").write_text('{"id": "refunds", "title": "Again", "content": "x"}\n')

    with pytest.raises(ValueError, match="duplicate article id 'refunds'"):
        load_articles([help_centre, tmp_path / "extra.jsonl"])


@pytest.mark.skipif(not TAU2_KB.exists(), reason="tau2 banking knowledge dataset not present")
async def test_public_banking_kb_title_queries_find_their_article(client: AsyncQdrantClient) -> None:
    articles = load_articles([TAU2_KB])[:50]
    knowledge = KnowledgeBase(client, collection="tau2")
    await knowledge.ensure_collection()

    report = await knowledge.ingest(articles)

    assert report.added == 50 and await knowledge.count_articles() == 50
    target = articles[7]
    assert target.id in [hit.article_id for hit in await knowledge.search(target.title, limit=3)]
    found = [a.id in [h.article_id for h in await knowledge.search(a.title, limit=3)] for a in articles]
    assert sum(found) >= 45, "title queries should nearly always find their own article"


# --- chunking and encoding -------------------------------------------------------------------


def test_chunks_follow_headings_and_carry_their_context() -> None:
    sections = "\n\n".join(f"## Step {n}\n\n" + " ".join([f"word{n}"] * 140) for n in range(3))
    article = Article("guide", "Setup guide", "product", "Intro paragraph.\n\n" + sections)

    chunks = chunk_article(article)

    assert [chunk.chunk_no for chunk in chunks] == list(range(len(chunks)))
    assert all(len(chunk.body.split()) <= MAX_WORDS for chunk in chunks)
    assert chunks[-1].heading == "Step 2"
    assert chunks[-1].text.startswith("Setup guide > Step 2\n\n")
    assert all(chunk.text.startswith("Setup guide") for chunk in chunks)


def test_encoder_is_stable_and_keeps_numbers() -> None:
    assert tokenize("Getting 429 errors from the APIs") == ["429", "error", "api"]
    assert term_index("429") == int.from_bytes(hashlib.blake2b(b"429", digest_size=4).digest()) & 0x7FFF_FFFF
    assert encode_query("errors error ERRORS").values == [3.0], "a term the query repeats weighs more"
    assert encode_query("refund my card").values == [1.0, 1.0]  # "my" is a stop word
    short, padded = encode_document("rate limit"), encode_document("rate limit " + "filler " * 200)
    limit = term_index("limit")
    weight = dict(zip(short.indices, short.values, strict=True))[limit]
    assert weight > dict(zip(padded.indices, padded.values, strict=True))[limit], "long chunks weigh terms less"


async def points_of(client: AsyncQdrantClient, collection: str, article_id: str) -> int:
    match = models.FieldCondition(key="article_id", match=models.MatchValue(value=article_id))
    only = models.Filter(must=[match])
    return (await client.count(collection, count_filter=only, exact=True)).count


# --- hybrid search ---------------------------------------------------------------------------


class CountingEmbedder(Embedder):
    """The real model, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__(cache_size=0)
        self.texts = 0

    def embed(self, texts: Sequence[str], batch_size: int = 16, progress: Any = None, *, persist: bool = True) -> Any:
        self.texts += len(texts)
        return shared_embedder().embed(texts, batch_size, progress, persist=persist)


async def test_hybrid_finds_an_article_by_meaning_when_no_word_matches(kb: KnowledgeBase) -> None:
    query = "I can't remember my login credentials"  # the article says "Forgot password", "sign-in"

    by_words = [hit.article_id for hit in await kb.search(query, mode="bm25")]
    hybrid = await kb.search(query)

    assert "password-reset" not in by_words[:1]
    assert hybrid[0].article_id == "password-reset"
    assert hybrid[0].title == "Resetting your password" and hybrid[0].snippet


async def test_hybrid_keeps_exact_terms_that_embeddings_blur(kb: KnowledgeBase) -> None:
    hits = await kb.search("401")

    assert hits[0].article_id == "api-auth"


async def test_reingest_of_unchanged_articles_embeds_nothing(client: AsyncQdrantClient, help_centre: Path) -> None:
    counting = CountingEmbedder()
    knowledge = KnowledgeBase(client, collection="embed-once", embedder=counting)
    await knowledge.ensure_collection()
    first = await knowledge.ingest(load_articles([help_centre], HELP_URL))
    assert counting.texts == first.chunks > 0

    again = await knowledge.ingest(load_articles([help_centre], HELP_URL))

    assert (again.unchanged, again.chunks, counting.texts) == (len(ARTICLES), 0, first.chunks)


async def test_a_bm25_only_collection_is_rebuilt_for_hybrid(client: AsyncQdrantClient, help_centre: Path) -> None:
    old = KnowledgeBase(client, collection="upgrade", dense=False)
    await old.ensure_collection()
    await old.ingest(load_articles([help_centre], HELP_URL))

    new = KnowledgeBase(client, collection="upgrade")
    assert await new.ensure_collection() is True
    report = await new.ingest(load_articles([help_centre], HELP_URL))

    assert report.added == len(ARTICLES)
    assert await new.ensure_collection() is False, "a current collection is left alone"
    assert (await new.search("I can't remember my login credentials"))[0].article_id == "password-reset"


@pytest.mark.parametrize("query", [RATE_LIMIT_QUERY, "refund invoice card", "webhook endpoint errors retry"])
async def test_local_mirror_ranks_exactly_like_qdrant(kb: KnowledgeBase, client: AsyncQdrantClient, query: str) -> None:
    """The numpy mirror used in local mode must agree with Qdrant's own scoring (BM25 with IDF, cosine)."""
    mirror = await kb._get_mirror()
    sparse = encode_query(query)
    dense = shared_embedder().embed_one(query)

    sparse_query = models.SparseVector(indices=sparse.indices, values=sparse.values)
    for vector, using, ours in (
        (sparse_query, "bm25", mirror.sparse_rank(sparse, 20)),
        (sparse_query, "title", mirror.sparse_rank(sparse, 20, name="title")),
        (dense.tolist(), "minilm", mirror.dense_rank(dense, 20)),
    ):
        theirs = (await client.query_points(kb.collection, query=vector, using=using, limit=20)).points
        assert [c.point_id for c in ours] == [str(p.id) for p in theirs]
        assert [c.score for c in ours] == pytest.approx([p.score for p in theirs], rel=1e-4)


async def test_server_path_returns_what_the_local_mirror_returns(kb: KnowledgeBase) -> None:
    """The batched query a Qdrant server answers (run here against local mode) ranks like the mirror."""
    for query in (RATE_LIMIT_QUERY, "I can't remember my login credentials", "refund annual plan"):
        local = await kb.search(query, limit=4)
        kb._local = False
        try:
            remote = await kb.search(query, limit=4)
            filtered = await kb.search(query, limit=4, category="billing")
        finally:
            kb._local = True
        assert [h.article_id for h in remote] == [h.article_id for h in local]
        assert [h.score for h in remote] == pytest.approx([h.score for h in local])
        assert {h.category for h in filtered} <= {"billing"}


def test_fusion_rewards_articles_both_rankings_agree_on() -> None:
    def ranked(*ids: str) -> list[Ranked]:
        return [Ranked(f"{i}-chunk", 1.0, {"article_id": i}) for i in ids]

    fused = fuse([(1.0, ranked("a", "b", "c")), (1.0, ranked("c", "b", "d"))], limit=4)

    # c (ranks 3 and 1) and b (2 and 2) beat a (first in one list only); d comes last.
    assert [chunk.payload["article_id"] for _, chunk in fused] == ["c", "b", "a", "d"]
    assert [score for score, _ in fused] == sorted((score for score, _ in fused), reverse=True)


def test_long_queries_are_embedded_in_sentence_windows() -> None:
    story = " ".join(f"Sentence number {n} tells one more part of a long customer story." for n in range(20))

    windows = query_windows(story)

    assert len(windows) > 1 and all(len(w.split()) <= 45 for w in windows)
    assert " ".join(windows) == story
    assert query_windows("short question?") == ["short question?"]


# Pseudo-relevance feedback: a card-payment family whose articles all say "chargeback", and one more that
# says little else; the customer's story never uses the word.
CARD_ARTICLES: dict[str, tuple[str, str, str]] = {
    "card-disputes": (
        "Disputing a card payment",
        "billing",
        """
        If a merchant charged your card for something you did not receive, open a dispute from the
        payment's page. A dispute becomes a chargeback: the chargeback is filed with the card network,
        and the chargeback team asks the merchant for evidence.
        """,
    ),
    "duplicate-charges": (
        "Charged twice for one purchase",
        "billing",
        """
        A merchant sometimes charges a card twice when a payment is retried. The second charge usually
        drops off within five days; if it stays, report it and we raise a chargeback for it.
        """,
    ),
    "undelivered-orders": (
        "An order that never arrived",
        "billing",
        """
        Paid for goods that never arrived? Ask the merchant first. If the merchant does not answer
        within a week, we can raise a chargeback on your card payment.
        """,
    ),
    "chargeback-timeline": (
        "Chargeback timeline and provisional credit",
        "billing",
        """
        A chargeback takes up to 45 days. Provisional credit appears within ten days while the
        chargeback is investigated; if the chargeback evidence goes against you, the credit is reversed.
        """,
    ),
}
CARD_STORY = " ".join(
    [
        "You are a customer who bought a coffee machine online three weeks ago.",
        "The merchant charged your card twice and the machine never arrived at your flat.",
        "You have written to the merchant four times and nobody has answered your messages.",
        "You want to dispute the payment on your card and you want to know when you will see your money again.",
        "You are polite but firm, and you mention that you travel a lot for work, so you read e-mail rarely.",
        "You also mention that your sister recommended the shop, which makes the situation awkward.",
        "If the agent asks, your card ends in 4242 and the merchant is called Brewly.",
        "You do not want a new card; you only want the disputed charge sorted out and your money back.",
    ]
)


def test_feedback_adds_the_terms_the_best_articles_share_at_a_tenth_of_the_querys_weight() -> None:
    query = SparseVec([1, 2], [3.0, 1.0])
    feedback = [SparseVec([2, 7, 8], [1.0, 2.0, 1.0]), SparseVec([7, 9], [1.0, 1.0])]

    expanded = expand_query(query, feedback, terms=2, weight=0.1)

    # Each chunk is a distribution: term 7 carries 0.5 + 0.5, term 9 0.5, terms 2 and 8 0.25 each. The
    # query's 4.0 keeps 90 %; 7 and 9 share the other 0.4 in proportion; 2 (in the query) gets nothing more.
    assert expanded.indices == [1, 2, 7, 9]
    assert expanded.values == pytest.approx([2.7, 0.9, 0.4 * 1.0 / 1.5, 0.4 * 0.5 / 1.5])
    assert sum(expanded.values) == pytest.approx(sum(query.values)), "the query keeps its total weight"
    assert expand_query(query, []) == query


def test_feedback_moves_each_window_towards_the_best_chunks() -> None:
    windows = np.eye(3, dtype=np.float32)[:2]
    shifted = shift_windows(windows, np.array([[0, 0, 1], [0, 0, 1]], dtype=np.float32), weight=1.0)

    assert np.linalg.norm(shifted, axis=1) == pytest.approx([1.0, 1.0])
    assert shifted[:, 2] == pytest.approx([2**-0.5, 2**-0.5])


async def test_a_long_story_is_searched_again_with_the_words_of_its_best_articles(
    client: AsyncQdrantClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The story never says "chargeback"; its best articles all do, so the article about chargebacks rises."""
    folder = tmp_path / "kb"
    folder.mkdir()
    for article_id, (title, category, body) in {**ARTICLES, **CARD_ARTICLES}.items():
        write_article(folder, article_id, title, category, body)
    knowledge = KnowledgeBase(client, collection="feedback")
    await knowledge.ensure_collection()
    await knowledge.ingest(load_articles([folder], HELP_URL))
    assert len(query_windows(CARD_STORY)) > 1 and "chargeback" not in CARD_STORY.lower()

    with_feedback = [h.article_id for h in await knowledge.search(CARD_STORY, limit=len(ARTICLES) + 4)]
    knowledge._local = False  # the server path (batched queries, a scroll for the feedback vectors) agrees
    assert [h.article_id for h in await knowledge.search(CARD_STORY, limit=len(ARTICLES) + 4)] == with_feedback
    knowledge._local = True
    monkeypatch.setattr("kb.index.FEEDBACK_ARTICLES", 0)  # no feedback: one pass, as for a short question
    without = [h.article_id for h in await knowledge.search(CARD_STORY, limit=len(ARTICLES) + 4)]

    assert set(with_feedback[:3]) == set(without[:3]) == {"card-disputes", "duplicate-charges", "undelivered-orders"}
    assert with_feedback.index("chargeback-timeline") < without.index("chargeback-timeline")


# --- the evaluation command (smoke test; the real figures come from `supportctl eval retrieval`) ---


def test_eval_retrieval_prints_recall_and_mrr_as_its_last_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb_file = tmp_path / "kb.jsonl"
    kb_file.write_text(
        "".join(
            json.dumps({"id": article_id, "title": title, "content": textwrap.dedent(body)}) + "\n"
            for article_id, (title, _, body) in ARTICLES.items()
        )
    )
    qrels = tmp_path / "qrels.jsonl"
    qrels.write_text(
        json.dumps({"task_id": "t1", "scenario_instructions": RATE_LIMIT_QUERY, "relevant_doc_ids": ["rate-limits"]})
        + "\n"
        + json.dumps(
            {
                "task_id": "t2",
                "question": "x",
                "scenario_instructions": "refund my annual plan",
                "relevant_doc_ids": ["refunds", "plan-quotas"],
            }
        )
        + "\n"
    )

    assert supportctl_main(["eval", "retrieval", "--kb", str(kb_file), "--qrels", str(qrels)]) == 0

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 2
    assert result["recall@10"] == 1.0 and result["recall@5"] >= 0.75
    assert result["mrr"] == 1.0


def test_eval_retrieval_with_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = supportctl_main(["eval", "retrieval", "--kb", str(tmp_path / "nope.jsonl"), "--qrels", "q.jsonl"])

    assert code == 2 and "no such file" in capsys.readouterr().err


@pytest.fixture
def cli_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The CLI on a knowledge base of the test's own (its settings come from the environment)."""
    monkeypatch.setenv("QDRANT_PATH", str(tmp_path / "qdrant"))
    monkeypatch.setenv("QDRANT_URL", "")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_kb_cli_ingests_a_folder_and_searches_one_product(
    tmp_path: Path, cli_kb: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_kb.setenv("KB_ARTICLE_URL", "https://support.example.org/kb/{id}")
    folder = write_product_articles(tmp_path / "kb")
    assert supportctl_main(["kb", "ingest", str(folder)]) == 0
    assert "4 articles (4 added" in capsys.readouterr().out
    assert supportctl_main(["kb", "search", "I forgot my password", "--product", "Web dashboard"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(
        " 1. Resetting your password in the dashboard  [reset-dashboard, account, Web"
    )
    assert "https://support.example.org/kb/reset-dashboard" in out and "reset-app" not in out


def test_kb_search_names_the_values_a_filter_that_matches_nothing_could_take(
    tmp_path: Path, cli_kb: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert supportctl_main(["kb", "ingest", str(write_product_articles(tmp_path / "kb"))]) == 0
    capsys.readouterr()

    assert supportctl_main(["kb", "search", "I forgot my password", "--product", "web dashboard"]) == 0
    captured = capsys.readouterr()
    assert "no matching articles" in captured.out
    assert "no article has product 'web dashboard' (product values: " in captured.err
    assert "'Web dashboard'" in captured.err  # the spelling that would have matched

    assert supportctl_main(["kb", "search", "I forgot my password", "--category", "account"]) == 0
    assert "no article has" not in capsys.readouterr().err  # a filter that matches says nothing


async def test_each_source_owns_its_articles(client: AsyncQdrantClient, tmp_path: Path) -> None:
    """Loading a second folder never deletes the first one's articles; re-loading a folder deletes
    only what that folder no longer has."""
    help_centre, runbooks = tmp_path / "help", tmp_path / "runbooks"
    help_centre.mkdir()
    runbooks.mkdir()
    write_article(help_centre, "refunds", "Refunds", "billing", "Refunds take five days.")
    write_article(help_centre, "invoices", "Invoices", "billing", "Invoices are under Billing.")
    write_article(runbooks, "outage", "Outage runbook", "technical", "Page the on-call engineer.")
    knowledge = KnowledgeBase(client, collection="sources", dense=False)
    await knowledge.ensure_collection()

    await knowledge.ingest(load_articles([help_centre], HELP_URL), source="help")
    second = await knowledge.ingest(load_articles([runbooks]), source="runbooks")
    (help_centre / "invoices.md").unlink()
    again = await knowledge.ingest(load_articles([help_centre], HELP_URL), source="help")

    assert second.deleted == 0 and again.deleted == 1
    assert await knowledge.article_sources() == {"refunds": "help", "outage": "runbooks"}
    assert [h.article_id for h in await knowledge.search("page the on-call engineer")] == ["outage"]
    assert await knowledge.forget("runbooks") == 1
    assert await knowledge.sources() == {"help": 1}


async def test_an_id_two_sources_share_moves_with_a_warning(client: AsyncQdrantClient, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write_article(first, "faq", "FAQ", "general", "Our opening hours are nine to five.")
    write_article(second, "faq", "FAQ", "general", "Our opening hours are nine to five.")
    knowledge = KnowledgeBase(client, collection="moves", dense=False)
    await knowledge.ensure_collection()
    await knowledge.ingest(load_articles([first]), source="a")

    report = await knowledge.ingest(load_articles([second]), source="b")
    emptied = await knowledge.ingest([], source="a")

    assert report.moved == ["faq"] and report.chunks == 0, "same content: relabelled, not rewritten"
    assert emptied.deleted == 0, "source a no longer owns it"
    assert await knowledge.article_sources() == {"faq": "b"}


async def test_articles_from_before_sources_are_adopted_never_deleted(
    client: AsyncQdrantClient, help_centre: Path
) -> None:
    knowledge = KnowledgeBase(client, collection="legacy", dense=False)
    await knowledge.ensure_collection()
    await knowledge.ingest(load_articles([help_centre], HELP_URL))  # as every earlier release did: no source
    some = load_articles([help_centre], HELP_URL)[:2]

    report = await knowledge.ingest(some, source="help")

    assert (report.deleted, report.chunks, report.moved) == (0, 0, [])
    assert await knowledge.sources() == {"help": 2, "": len(ARTICLES) - 2}


@pytest.mark.usefixtures("cli_kb")
def test_kb_cli_keeps_each_folder_as_its_own_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    products = write_product_articles(tmp_path / "kb")
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    write_article(runbooks, "outage", "Outage runbook", "technical", "Page the on-call engineer.")
    assert supportctl_main(["kb", "ingest", str(products)]) == 0
    assert supportctl_main(["kb", "ingest", str(runbooks), "--source", "runbooks"]) == 0
    out = capsys.readouterr().out
    assert supportctl_main(["kb", "sources"]) == 0
    listed = capsys.readouterr().out
    assert supportctl_main(["kb", "forget", "nothing-here"]) == 1
    refused = capsys.readouterr().err
    assert supportctl_main(["kb", "forget", "runbooks"]) == 0
    forgot = capsys.readouterr().out
    assert "source 'runbooks': 1 articles (1 added, 0 updated, 0 unchanged, 0 deleted" in out
    assert f"     4 articles  {str(products.resolve())!r}" in listed and "     1 articles  'runbooks'" in listed
    assert "no source 'nothing-here'" in refused and "'runbooks'" in refused
    assert "deleted 1 articles of source 'runbooks'" in forgot


async def test_starting_the_stack_leaves_a_teams_own_knowledge_base_alone(
    tmp_path: Path, help_centre: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supportctl.prepare import DEMO_SOURCE, ingest_demo_kb

    settings = Settings(QDRANT_PATH=str(tmp_path / "qdrant"), QDRANT_URL=None, KB_COLLECTION="team")
    said: list[str] = []
    await ingest_demo_kb(settings, said.append)  # a first start: the demo articles
    qdrant = open_qdrant(settings.QDRANT_PATH, None)
    try:
        knowledge = KnowledgeBase(qdrant, "team", dense=False)
        demo = (await knowledge.sources())[DEMO_SOURCE]
        await knowledge.ingest(load_articles([help_centre], HELP_URL), source="help")
    finally:
        await qdrant.close()

    await ingest_demo_kb(settings, said.append)  # the next start

    qdrant = open_qdrant(settings.QDRANT_PATH, None)
    try:
        counts = await KnowledgeBase(qdrant, "team", dense=False).sources()
    finally:
        await qdrant.close()
    assert counts == {DEMO_SOURCE: demo, "help": len(ARTICLES)}
    assert "articles of your own; demo articles not loaded" in said[-1]


def test_kb_cli_refuses_what_would_lose_articles_or_mislead(
    tmp_path: Path, cli_kb: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "help"
    folder.mkdir()
    write_article(folder, "refunds", "Refunds", "billing", "Refunds take five days.")
    monkeypatch.chdir(tmp_path)
    assert supportctl_main(["kb", "ingest", "help"]) == 0
    (folder / "refunds.md").rename(folder / "refunds.txt")  # say, an export in the wrong format

    assert supportctl_main(["kb", "ingest", "help"]) == 2, "an empty folder does not delete its source"
    assert "no articles (.md, .html, .htm, .jsonl) in" in capsys.readouterr().err
    assert supportctl_main(["kb", "search", "refund", "--include-shared"]) == 2
    assert "give --product NAME" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        supportctl_main(["kb", "search", "refund", "--limit", "0"])
    assert "--limit: must be 1 or more" in capsys.readouterr().err
    cli_kb.setenv("KB_ARTICLE_URL", "https://help.example.com/{id}/{slug}")
    get_settings.cache_clear()
    assert supportctl_main(["kb", "sources"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: KB_ARTICLE_URL: ") and "only {id} is filled in" in err, "one line, no traceback"
    cli_kb.delenv("KB_ARTICLE_URL")
    get_settings.cache_clear()
    assert supportctl_main(["kb", "forget", "help"]) == 0, "a folder is named as it was given"
    assert "deleted 1 articles" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_kb")
def test_kb_commands_before_any_ingest_say_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert supportctl_main(["kb", "search", "refund"]) == 1
    assert supportctl_main(["kb", "forget", "demo"]) == 1
    assert supportctl_main(["kb", "sources"]) == 0
    printed = capsys.readouterr()
    assert printed.err.count("load articles first with `supportctl kb ingest PATH`") == 2
    assert "no knowledge base 'kb_articles'" in printed.out


def test_kb_ingest_of_a_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert supportctl_main(["kb", "ingest", str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_recall_and_mrr_arithmetic() -> None:
    scores = score_rankings([["x", "a", "y", "b"], ["z"]], [["a", "b"], ["q"]])

    assert scores["recall@1"] == 0.0 and scores["recall@5"] == 0.5
    assert scores["mrr"] == 0.25  # (1/2 + 0) / 2


async def test_bench_kb_writes_latency_figures(tmp_path: Path, help_centre: Path) -> None:
    out = tmp_path / "results" / "kb_search.json"

    result = await run_bench(help_centre, n_queries=5, out=out, data_dir=tmp_path)

    assert json.loads(out.read_text()) == result
    assert result["articles"] == len(ARTICLES) and result["search"]["n"] == 5
    assert 0 < result["p50_ms"] <= result["p95_ms"]
    again = await run_bench(help_centre, n_queries=5, out=out, data_dir=tmp_path)
    assert again["chunks"] == result["chunks"], "the second run finds the KB already ingested"


def test_embeddings_are_computed_once_per_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second process (here: a second embedder on the same cache file) reuses the vectors."""
    cache = tmp_path / "embeddings.sqlite"
    texts = ["How do I export a funnel?", "Refund for the annual plan"]
    first = Embedder(disk_cache=cache).embed(texts)

    second = Embedder(disk_cache=cache)

    def no_model(*_args: Any) -> Any:
        raise AssertionError("the cached vectors should have been used")

    monkeypatch.setattr(second, "_compute", no_model)
    assert second.embed(texts) == pytest.approx(first)
    assert float(first[0] @ first[0]) == pytest.approx(1.0, abs=1e-5)


def test_an_inner_layer_comes_from_the_same_pass_and_is_cached_beside_the_sentence_vector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Triage asks for the last and an inner layer: one model pass, both vectors cached, the last
    one the very sentence embedding that search uses."""
    cache = tmp_path / "embeddings.sqlite"
    texts = ["How do I export a funnel?", "Refund for the annual plan"]
    embedder = Embedder(disk_cache=cache)
    passes: list[tuple[list[str], list[int]]] = []
    compute = embedder._compute

    def counted(batch: list[str], batch_size: int, progress: Any, layers: Sequence[int] = (LAYERS,)) -> Any:
        passes.append((list(batch), list(layers)))
        return compute(batch, batch_size, progress, layers)

    monkeypatch.setattr(embedder, "_compute", counted)
    last, inner = embedder.embed_layers(texts, (LAYERS, 4))

    assert passes == [(texts, [LAYERS, 4])]
    assert last == pytest.approx(Embedder().embed(texts, persist=False), abs=1e-6)
    assert [float(v @ v) for v in inner] == pytest.approx([1.0, 1.0], abs=1e-5)
    assert float(inner[0] @ last[0]) < 0.9, "an inner layer is another view of the text, not a copy"
    assert embedder.embed(texts) == pytest.approx(last) and len(passes) == 1, "search reuses the last layer"

    second = Embedder(disk_cache=cache)
    monkeypatch.setattr(second, "_compute", lambda *_args: pytest.fail("both layers should come from disk"))
    again_last, again_inner = second.embed_layers(texts, (LAYERS, 4))
    assert again_last == pytest.approx(last) and again_inner == pytest.approx(inner)


def test_layers_outside_the_model_are_refused() -> None:
    with pytest.raises(ValueError, match="between 1 and 6"):
        Embedder().embed_layers(["hello"], (0,))


def cached_vectors(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])


async def test_ingest_fills_the_disk_cache_and_searches_never_touch_it(
    client: AsyncQdrantClient, help_centre: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks come back (a fresh collection, another machine's test run): cached on disk. Queries are
    unique: the SQLite round trip would only cost time, so search uses the in-memory cache alone."""
    cache = tmp_path / "embeddings.sqlite"
    embedder = Embedder(disk_cache=cache)
    knowledge = KnowledgeBase(client, collection="disk-cache", embedder=embedder)
    await knowledge.ensure_collection()
    report = await knowledge.ingest(load_articles([help_centre], HELP_URL))
    assert cached_vectors(cache) == report.chunks > 0

    disk = embedder._disk
    assert disk is not None

    def no_disk(*_args: Any) -> Any:
        raise AssertionError("a search query went to the disk cache")

    monkeypatch.setattr(disk, "get", no_disk)
    monkeypatch.setattr(disk, "put", no_disk)
    await knowledge.warm_up()
    long_story = " ".join(f"Part {n} of my story: the API keeps answering 429 to my requests." for n in range(12))
    for query in (RATE_LIMIT_QUERY, "I can't remember my login credentials", long_story):
        assert await knowledge.search(query)
        assert await knowledge.search(query)  # the second time from the in-memory cache
    monkeypatch.undo()
    assert cached_vectors(cache) == report.chunks, "no query vector was written"


@pytest.mark.parametrize("query", ["", "   "])
def test_kb_search_refuses_a_blank_query(query: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A blank query (an unset shell variable) is a mistake, not a search that found nothing."""
    with pytest.raises(SystemExit) as exit_:
        supportctl_main(["kb", "search", query])
    assert exit_.value.code == 2 and "query: give the words to search for" in capsys.readouterr().err


def test_eval_retrieval_refuses_a_kb_without_articles_or_a_folder_of_qrels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Zeros measured on an empty KB (the wrong file) would read as a measurement: refused instead."""
    empty, qrels = tmp_path / "kb.jsonl", tmp_path / "qrels.jsonl"
    empty.write_text("\n")
    qrels.write_text(json.dumps({"scenario_instructions": "refund please", "relevant_doc_ids": ["refunds"]}) + "\n")

    assert supportctl_main(["eval", "retrieval", "--kb", str(empty), "--qrels", str(qrels), "--mode", "bm25"]) == 1
    assert f"error: {empty}: no articles to measure retrieval on" in capsys.readouterr().err
    assert supportctl_main(["eval", "retrieval", "--kb", str(empty), "--qrels", str(tmp_path)]) == 2
    assert f"error: {tmp_path} is a folder; give a JSONL file" in capsys.readouterr().err
