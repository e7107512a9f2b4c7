"""Real-looking MIME mails for the e-mail channel tests, written for these tests (names are made up).

Each builder returns raw RFC 822 bytes shaped as the client writes them: Gmail (multipart/alternative,
quoted-printable, "On … wrote:"), Outlook (HTML only, base64 cp1252, a "From: / Sent:" block), Apple
Mail (format=flowed, an inline image), a forwarded thread, an Exchange out-of-office, a bounce
(multipart/report from MAILER-DAEMON), a 10 MB attachment and a malformed message.
"""

from __future__ import annotations

import base64
import os
import uuid

SUPPORT = "support@lumora.example"
PRIYA = ("Priya Raman", "priya.raman@fernway-logistics.example")
DANIEL = ("Daniel Whitaker", "daniel.whitaker@corvane-retail-group.example")


def new_id(domain: str = "mail.gmail.com") -> str:
    return f"<CA+{uuid.uuid4().hex}@{domain}>"


def _thread_headers(in_reply_to: str | None, references: list[str] | None) -> str:
    h = ""
    if in_reply_to:
        h += f"In-Reply-To: {in_reply_to}\r\n"
    if references:
        h += "References: " + "\r\n ".join(references) + "\r\n"
    return h


def gmail(
    sender: tuple[str, str] = PRIYA,
    *,
    message_id: str | None = None,
    subject: str = "=?UTF-8?Q?Export_to_Snowflake_fails_=E2=80=94_urgent?=",
    text: str = "Hi, our nightly export to Snowflake fails since yesterday with error E-4102.\nCan you help?",
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    to: str = SUPPORT,
    quoted: str = "",
    cc: str | None = None,
) -> bytes:
    mid = message_id or new_id()
    b = uuid.uuid4().hex[:24]
    qp_text = text.replace("=", "=3D") + ("\r\n\r\n" + quoted if quoted else "")
    html_quote = f'<div class="gmail_quote"><blockquote>{quoted}</blockquote></div>' if quoted else ""
    return (
        f"MIME-Version: 1.0\r\nDate: Tue, 3 Dec 2026 10:15:00 +0100\r\nMessage-ID: {mid}\r\n"
        + _thread_headers(in_reply_to, references)
        + f"Subject: {subject}\r\nFrom: {sender[0]} <{sender[1]}>\r\nTo: {to}\r\n"
        + (f"Cc: {cc}\r\n" if cc else "")
        + f'Content-Type: multipart/alternative; boundary="{b}"\r\n\r\n'
        f'--{b}\r\nContent-Type: text/plain; charset="UTF-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        f"{qp_text}\r\n\r\n"
        f'--{b}\r\nContent-Type: text/html; charset="UTF-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        f'<div dir=3D"ltr">{text.replace(chr(10), "<br>")}</div>{html_quote}\r\n\r\n--{b}--\r\n'
    ).encode()


def outlook_html(
    sender: tuple[str, str] = DANIEL,
    *,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    text: str = "The invoice for November shows 12 seats, we only have 9. Could you correct it?",
) -> bytes:
    mid = message_id or new_id("AM6PR04MB1234.eurprd04.prod.outlook.com")
    html = (
        "<html><head><style>p{margin:0}</style></head><body><div class=WordSection1>"
        f"<p class=MsoNormal>{text} Merci d&#8217;avance &ndash; Daniel</p><p>&nbsp;</p>"
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt"><p class=MsoNormal><b>From:</b> Lumora Support '
        "&lt;support@lumora.example&gt;<br><b>Sent:</b> Monday, December 2, 2026 4:01 PM<br><b>To:</b> Daniel "
        "Whitaker<br><b>Subject:</b> RE: Invoice question</p></div><p>Hello Daniel, we looked at your invoice.</p>"
        "</div></body></html>"
    )
    body = base64.encodebytes(html.encode("cp1252")).decode()
    return (
        f"Message-ID: {mid}\r\n"
        + _thread_headers(in_reply_to, references)
        + f"From: {sender[0]} <{sender[1]}>\r\nTo: Lumora Support <{SUPPORT}>\r\n"
        "Subject: RE: Invoice question\r\nDate: Tue, 3 Dec 2026 09:00:00 +0000\r\nThread-Topic: Invoice question\r\n"
        "Content-Language: en-US\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/html; charset="windows-1252"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{body}"
    ).encode()


def apple_mail(
    sender: tuple[str, str] = PRIYA,
    *,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    to: str = SUPPORT,
    text: str = "Thanks! I tried the new key but the export still fails. Screenshot attached.",
) -> bytes:
    mid = message_id or f"<{uuid.uuid4().hex.upper()}@fernway-logistics.example>"
    b = f"Apple-Mail={uuid.uuid4()}"
    png = base64.encodebytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000)).decode()
    return (
        f'From: {sender[0]} <{sender[1]}>\r\nContent-Type: multipart/mixed; boundary="{b}"\r\n'
        "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.300.61.1.2\\))\r\n"
        "Subject: Re: Export to Snowflake fails\r\n"
        + _thread_headers(in_reply_to, references)
        + f"Date: Wed, 4 Dec 2026 08:02:11 +0100\r\nTo: {to}\r\nMessage-Id: {mid}\r\n"
        "X-Mailer: Apple Mail (2.3774)\r\n\r\n"
        f"--{b}\r\nContent-Transfer-Encoding: 7bit\r\n"
        "Content-Type: text/plain;\r\n\tcharset=us-ascii;\r\n\tformat=flowed\r\n\r\n"
        f"{text}\r\n\r\nPriya\r\n\r\n"
        "> On 3 Dec 2026, at 11:20, Lumora Support <support@lumora.example> wrote:\r\n>\r\n"
        "> Please rotate the API key under Settings > API keys.\r\n\r\n"
        f'--{b}\r\nContent-Disposition: inline;\r\n\tfilename="Screen Shot 2026-12-04.png"\r\n'
        'Content-Type: image/png;\r\n\tname="Screen Shot 2026-12-04.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{png}\r\n--{b}--\r\n"
    ).encode()


def forwarded(sender: tuple[str, str] = PRIYA) -> bytes:
    return (
        f"Message-ID: {new_id()}\r\nFrom: {sender[0]} <{sender[1]}>\r\nTo: {SUPPORT}\r\n"
        "Subject: Fwd: Webhook deliveries failing\r\nDate: Thu, 5 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "See below, our engineer can't get webhooks working.\r\n\r\n"
        "---------- Forwarded message ---------\r\nFrom: Jonas Albrecht <jonas@fernway-logistics.example>\r\n"
        "Date: Wed, 4 Dec 2026 at 17:40\r\nSubject: Webhook deliveries failing\r\nTo: Priya Raman\r\n\r\n"
        "Every webhook since Monday returns 401 and the retries stop after 3 tries. Grüße, Jonas\r\n"
    ).encode()


def out_of_office(sender: tuple[str, str] = PRIYA, in_reply_to: str | None = None) -> bytes:
    return (
        f"Message-ID: {new_id('EXCH01.fernway-logistics.example')}\r\nFrom: {sender[0]} <{sender[1]}>\r\n"
        f"To: {SUPPORT}\r\nSubject: Automatic reply: Re: Export to Snowflake fails\r\n"
        + _thread_headers(in_reply_to, [in_reply_to] if in_reply_to else None)
        + "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\nDate: Thu, 5 Dec 2026 12:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "I am out of the office until 12 December with limited access to e-mail.\r\n"
    ).encode()


def bounce(original_id: str = "<x@lumora.example>") -> bytes:
    b = "BOUNCE-1234"
    return (
        f"Message-ID: {new_id('mx.lumora.example')}\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.lumora.example>\r\n"
        f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: Thu, 5 Dec 2026 12:00:00 +0000\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"\r\n\r\n'
        f"--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nI'm sorry to have to inform you that your message "
        "could not be delivered.\r\n\r\n"
        f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.lumora.example\r\n\r\n"
        "Final-Recipient: rfc822; gone@nowhere.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--{b}\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original_id}\r\n\r\n--{b}--\r\n"
    ).encode()


def postfix_bounce(returned: bytes, recipient: str, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    """Postfix's delivery report: the returned mail's headers only (text/rfc822-headers)."""
    headers = returned.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", errors="replace")
    b = f"{uuid.uuid4().hex[:12]}.1733400000/mx.nordvik.example"
    diagnostic = "smtp; 550 5.1.1 <{0}>: Recipient address rejected: User unknown in virtual mailbox table"
    return (
        f"Message-ID: <20261205120000.{uuid.uuid4().hex[:8]}@mx.nordvik.example>\r\n"
        "From: MAILER-DAEMON@mx.nordvik.example (Mail Delivery System)\r\n"
        f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Date: Thu, 5 Dec 2026 12:00:00 +0000\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"\r\n\r\n'
        f"--{b}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.nordvik.example.\r\n\r\nI'm sorry to have to inform you that your "
        "message could not\r\nbe delivered to one or more recipients.\r\n\r\n"
        f"--{b}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.nordvik.example\r\nX-Postfix-Queue-ID: 4Y3k2T1xyz\r\n"
        "Arrival-Date: Thu,  5 Dec 2026 11:59:58 +0000 (UTC)\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nRemote-MTA: dns; mailstore.nordvik.example\r\n"
        f"Diagnostic-Code: {diagnostic.format(recipient)}\r\n\r\n"
        f"--{b}\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{headers}\r\n\r\n--{b}--\r\n"
    ).encode()


def gmail_bounce(returned: bytes, recipient: str) -> bytes:
    """Gmail's: the whole returned mail attached (message/rfc822), no Auto-Submitted header."""
    b = uuid.uuid4().hex[:28]
    return (
        (
            f"MIME-Version: 1.0\r\nMessage-ID: {new_id('mx.google.com')}\r\nDate: Thu, 5 Dec 2026 12:00:03 +0000\r\n"
            "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
            f"To: {SUPPORT}\r\nSubject: Delivery Status Notification (Failure)\r\n"
            f'Content-Type: multipart/report; boundary="{b}"; report-type=delivery-status\r\n\r\n'
            f"--{b}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n** Address not found **\r\n\r\n"
            f"Your message wasn't delivered to {recipient} because the address couldn't be found.\r\n\r\n"
            f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; googlemail.com\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.\r\n\r\n"
            f"--{b}\r\nContent-Type: message/rfc822\r\n\r\n"
        ).encode()
        + returned
        + f"\r\n--{b}--\r\n".encode()
    )


def big_attachment(sender: tuple[str, str] = PRIYA, size: int = 10 * 1024 * 1024) -> bytes:
    b = "BIG-ATTACHMENT"
    data = base64.encodebytes(os.urandom(size)).decode()
    return (
        f"Message-ID: {new_id()}\r\nFrom: {sender[0]} <{sender[1]}>\r\nTo: {SUPPORT}\r\n"
        "Subject: Logs from the failed export\r\nDate: Thu, 5 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n'
        f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere are the export logs you asked for.\r\n"
        f"--{b}\r\nContent-Type: application/zip\r\n"
        'Content-Disposition: attachment; filename="=?UTF-8?Q?export-logs-d=C3=A9c.zip?="\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{data}\r\n--{b}--\r\n"
    ).encode()


def malformed(sender: tuple[str, str] = PRIYA) -> bytes:
    """No Message-ID, a header without a colon, a boundary that never appears, bad base64, an unknown
    charset, a NUL byte and an encoded-word that is not one."""
    return (
        f"From: =?utf-8?B?UHJpeWEgUmFtYW4=?= <{sender[1]}>\r\nTo: {SUPPORT}\r\n"
        "Subject: =?x-unknown?Q?broken=ZZ?= export question\r\nThis line is not a header\r\n"
        'Content-Type: multipart/mixed; boundary="never-used"\r\n\r\n'
        "Content-Type: text/plain; charset=x-klingon\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "Why does the export stop at 10,000 rows?\x00 ===not base64===\r\n"
    ).encode()
