"""MIME to ticket text: the client samples, RFC 2047, encodings, attachments, loops and noise."""

from __future__ import annotations

from channels.email.html_text import html_to_text
from channels.email.inbound import compose_body, reply_token
from channels.email.parse import parse, synthetic_message_id
from db.email import Attachment
from domain.customer_text import prepare
from tests import email_samples as s

OWN = frozenset({s.SUPPORT})


def test_gmail_reply_text_subject_and_new_words() -> None:
    raw = s.gmail(
        text="Thanks, that helps. Does the same limit apply to the batch endpoint?",
        quoted="On Tue, 3 Dec 2026 at 10:15, Lumora Support <support@lumora.example> wrote:\r\n> Hi Priya,\r\n"
        "> the event API allows 5,000 requests per hour.",
        in_reply_to="<a.1@lumora.example>",
        references=["<root@mail.gmail.com>", "<a.1@lumora.example>"],
    )
    mail = parse(raw, OWN)
    assert mail.subject == "Export to Snowflake fails — urgent"  # RFC 2047, UTF-8 Q
    assert mail.sender == s.PRIYA[1] and mail.sender_name == "Priya Raman"
    assert mail.automatic is None and mail.attachments == []
    assert mail.thread_ids == ["<a.1@lumora.example>", "<root@mail.gmail.com>"]
    assert prepare(mail.text).new_text == "Thanks, that helps. Does the same limit apply to the batch endpoint?"


def test_outlook_html_only_cp1252_base64() -> None:
    mail = parse(s.outlook_html(), OWN)
    assert "only have 9" in mail.text and "Merci d’avance – Daniel" in mail.text
    assert "<p" not in mail.text and "p{margin" not in mail.text
    new = prepare(mail.text).new_text
    assert "only have 9" in new and "we looked at your invoice" not in new  # Outlook's From/Sent block cut


def test_apple_mail_inline_image_is_an_attachment_by_reference() -> None:
    mail = parse(s.apple_mail(), OWN)
    assert [(a.filename, a.content_type) for a in mail.attachments] == [("Screen Shot 2026-12-04.png", "image/png")]
    assert mail.attachments[0].size > 2000
    assert prepare(mail.text).new_text.startswith("Thanks! I tried the new key")
    body = compose_body(mail, [Attachment("Screen Shot 2026-12-04.png", "image/png", 2008, "ab", "/x")])
    assert "[attachment: Screen Shot 2026-12-04.png (image/png, 2008 bytes)]" in body
    assert "PNG" not in body  # the bytes never enter the history


def test_forwarded_thread_keeps_what_it_points_at() -> None:
    prepared = prepare(parse(s.forwarded(), OWN).text)
    assert prepared.new_text.startswith("See below")
    assert "401" in prepared.focus


def test_ten_megabyte_attachment_and_encoded_filename() -> None:
    mail = parse(s.big_attachment(), OWN)
    assert mail.text == "Here are the export logs you asked for."
    (att,) = mail.attachments
    assert att.filename == "export-logs-déc.zip" and att.size == 10 * 1024 * 1024
    over = compose_body(mail, [Attachment(att.filename, att.content_type, att.size, att.sha256, None)])
    assert "not kept: over the size cap" in over


def test_malformed_message_is_read_as_far_as_it_goes() -> None:
    raw = s.malformed()
    mail = parse(raw, OWN)
    assert mail.message_id == synthetic_message_id(raw) == parse(raw).message_id  # same bytes, same id
    assert mail.sender == s.PRIYA[1] and mail.sender_name == "Priya Raman"
    assert "export" in mail.subject
    assert "10,000 rows" in mail.text or "10,000 rows" in compose_body(mail, [])
    assert mail.automatic is None
    assert parse(b"\x00\xff garbage without headers").sender is None  # never raises


def test_automatic_mail_is_recognised() -> None:
    assert parse(s.out_of_office(), OWN).automatic == "auto-submitted: auto-replied"
    assert parse(s.bounce(), OWN).automatic is not None
    bare_bounce = s.bounce().replace(b"Auto-Submitted: auto-replied\r\n", b"")
    assert "multipart/report" in (parse(bare_bounce, OWN).automatic or "")
    own = s.gmail(sender=("Lumora Support", s.SUPPORT))
    assert parse(own, OWN).automatic == "our own address (a loop)"
    assert parse(s.gmail(sender=("x", "support+ab12@lumora.example")), OWN).automatic == "our own address (a loop)"
    for extra in (b"Precedence: bulk\r\n", b"X-Autoreply: yes\r\n", b"X-Autorespond: on\r\n"):
        assert parse(extra + s.gmail(), OWN).automatic is not None, extra
    assert parse(b"Auto-Submitted: no\r\n" + s.gmail(), OWN).automatic is None
    assert parse(s.gmail(sender=("Postmaster", "postmaster@corvane.example")), OWN).automatic == "mailer-daemon sender"


def test_reply_token_only_on_our_address() -> None:
    assert reply_token(["support+ab12cd@lumora.example"], s.SUPPORT) == "ab12cd"
    assert reply_token(["support+ab12cd@evil.example"], s.SUPPORT) is None
    assert reply_token(["sales+ab12cd@lumora.example", "support@lumora.example"], s.SUPPORT) is None


def test_html_to_text_blocks_quotes_and_entities() -> None:
    text = html_to_text(
        "<html><head><title>x</title><script>alert(1)</script></head><body><p>Hello&nbsp;there &amp; hi</p>"
        "<ul><li>one</li><li>two</li></ul><blockquote><p>quoted line</p></blockquote></body></html>"
    )
    assert text.splitlines()[0] == "Hello there & hi"
    assert "- one" in text and "- two" in text and "> quoted line" in text and "alert" not in text
