"""Reading delivery reports (channels/email/bounces.py): which mail of ours each one is about, by the
returned headers, an Original-Message-ID field or the report's own In-Reply-To; what is not a bounce."""

from __future__ import annotations

from channels.email.parse import parse
from tests import email_samples as s

OURS = "<tkt_1.3.abcdef012345@lumora.example>"


def _report(status_block: str, tail: str = "", extra_headers: str = "", report_type: str = "delivery-status") -> bytes:
    b = "REPORT-b0undary"
    return (
        f"Message-ID: <r1@mx.example>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nTo: {s.SUPPORT}\r\n"
        f"Subject: Returned mail\r\n{extra_headers}MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{b}"\r\n\r\n'
        f"--{b}\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n\r\n"
        f"--{b}\r\nContent-Type: message/{report_type}\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        f"{status_block}\r\n\r\n{tail}--{b}--\r\n"
    ).encode()


def test_the_returned_mail_names_our_message() -> None:
    sent = s.gmail(sender=("Lumora Support", s.SUPPORT), message_id=OURS)
    for raw in (s.postfix_bounce(sent, "gone@nordvik.example"), s.gmail_bounce(sent, "gone@nordvik.example")):
        mail = parse(raw)
        assert mail.automatic is not None  # never answered
        assert mail.bounce is not None and mail.bounce.failed
        assert mail.bounce.original_ids[0] == OURS
        assert mail.bounce.recipients == ["gone@nordvik.example"] and mail.bounce.status == "5.1.1"


def test_an_original_message_id_field_or_the_reports_in_reply_to() -> None:
    block = f"Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.2.2\r\nOriginal-Message-ID: {OURS}"
    bounce = parse(_report(block)).bounce
    assert bounce is not None and bounce.failed and bounce.original_ids == [OURS] and bounce.status == "5.2.2"
    threaded = parse(_report("Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.0.0",
                             extra_headers=f"In-Reply-To: {OURS}\r\n")).bounce  # fmt: skip
    assert threaded is not None and threaded.original_ids == [OURS]


def test_what_is_not_a_bounce() -> None:
    delayed = parse(_report(f"Final-Recipient: rfc822; a@b.example\r\nAction: delayed\r\nStatus: 4.4.7\r\n"
                            f"Original-Message-ID: {OURS}")).bounce  # fmt: skip
    assert delayed is not None and not delayed.failed
    receipt = parse(_report("Final-Recipient: rfc822; a@b.example\r\nDisposition: manual-action/MDN-sent-manually; "
                            "displayed", report_type="disposition-notification"))  # fmt: skip
    assert receipt.bounce is None and receipt.automatic is not None  # a read receipt: ignored, not a bounce
    assert parse(s.gmail()).bounce is None
    broken = parse(_report("this is not a status block at all\r\n::::"))
    assert broken.bounce is not None and not broken.bounce.failed and broken.automatic is not None


def test_hard_and_soft_failures() -> None:
    """Only a permanent failure stops mail to the address: 5.x.x, or `failed` with no status at all."""

    def failure(status: str) -> bool:
        line = f"Status: {status}\r\n" if status else ""
        bounce = parse(_report(f"Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\n{line}")).bounce
        assert bounce is not None and bounce.failed
        return bounce.hard

    assert [failure(st) for st in ("5.1.1", "5.2.2", "4.2.2", "4.4.7", "")] == [True, True, False, False, True]
    delayed = parse(_report("Final-Recipient: rfc822; a@b.example\r\nAction: delayed\r\nStatus: 4.4.7")).bounce
    assert delayed is not None and not delayed.hard
