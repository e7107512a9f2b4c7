"""The customer's new words, separated from what came along with them.

An e-mail reply carries much more than the customer's message: the quoted thread ("On Tue, 3 Dec 2026,
Lumora Support wrote:", "> " lines, Outlook's "From: … Sent: … To: … Subject:" block, "-----Original
Message-----"), forwarded mails, a signature ("--", "Best regards,\\nName\\nTitle | Company | phone",
"Sent from my iPhone"), a confidentiality disclaimer; and sometimes text the customer pasted that
addresses the system ("SYSTEM NOTE: …", "ignore previous instructions"). Triage, retrieval and the
reply must read the new words only; the raw text stays stored as received.

`prepare(text)` splits a message into a `PreparedText`. The markers are those Gmail, Outlook and Apple
Mail write in English, German, French, Spanish, Portuguese (and Italian and Dutch where cheap). Chat
and API text has none of them and comes through unchanged.

Pure (regular expressions, no I/O, no third-party imports), so the workflow can use it inside its
sandbox as well as the activities and the agents.

Why our own rules rather than a reply-parsing library: on the test corpus (`tests/mail_corpus.py`)
`mail-parser-reply` 1.36 (maintained, multi-language) got the new words exactly right on 12 of 25
mails and `email_reply_parser` 0.5.12 (English only, last release 2020) on 8; both leave forwarded-mail
markers, Portuguese headers, name-only signatures and disclaimers in the text, neither separates a
forwarded message from a quoted one, and neither knows pasted instructions. `talon` was last
released in 2017. These rules get all 25, and all the chat samples through unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

MAX_REFERENCED_CHARS = 1500

# ---- where the history starts ------------------------------------------------------------------

# "On <date>, <who> wrote:" and its translations (Gmail, Apple Mail, Thunderbird). A date or an
# address must be in it, so "On Monday I wrote: …" in a chat is not a quote header.
_ATTRIBUTION = re.compile(
    r"^(?:on|am|le|el|em|il|op)\b.{4,300}?"
    r"(?:\bwrote|\bschrieb(?:\s.{0,200})?|\ba écrit|\bescribió|\bescreveu|\bha scritto|\bschreef(?:\s.{0,200})?)"
    r"\s?:$",
    re.IGNORECASE,
)
_HAS_DATE_OR_ADDRESS = re.compile(r"\d|@|<")
_ORIGINAL = re.compile(
    r"^-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|"
    r"mensagem original|messaggio originale|oorspronkelijk bericht)\s*-{2,}$",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^-{2,}\s*(?:forwarded message|original message follows|weitergeleitete nachricht|message transféré|"
    r"mensaje reenviado|mensagem encaminhada|messaggio inoltrato|doorgestuurd bericht)\s*-{2,}$|"
    r"^(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|"
    r"inicio del mensaje reenviado|início da mensagem encaminhada|inizio messaggio inoltrato|"
    r"begin doorgestuurd bericht)\s?:$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^[_=\-]{10,}$")
# Outlook's header block: "From:" then, within a few lines, "Sent:"/"Date:" and "To:"/"Subject:".
_HEADER_FROM = re.compile(r"^\*?(?:from|von|de|da|van)\s?\*?:\s*\S", re.IGNORECASE)
_HEADER_KEY = re.compile(
    r"^\*?(?:from|sent|date|to|cc|subject|von|gesendet|datum|an|betreff|de|envoyé|date|à|objet|enviado|fecha|"
    r"para|asunto|enviada em|data|assunto|inviato|oggetto|a|van|verzonden|aan|onderwerp)\s?\*?:",
    re.IGNORECASE,
)
_HEADER_WHEN = re.compile(
    r"^\*?(?:sent|date|gesendet|datum|envoyé|enviado|fecha|enviada em|data|inviato|verzonden)\s?\*?:", re.IGNORECASE
)

# ---- what ends the new words ---------------------------------------------------------------------

_SIG_DASHES = re.compile(r"^(?:--|-- |—|__)\s*$")
_MOBILE = re.compile(
    r"^(?:sent from (?:my |the )?(?:iphone|ipad|android|mobile|phone|samsung|galaxy|pixel|blackberry|"
    r"mail for windows|outlook|yahoo mail)|sent from outlook for (?:ios|android)|get outlook for (?:ios|android)|"
    r"sent via .{1,40}|von meinem (?:iphone|ipad|smartphone|android|handy|mobiltelefon) gesendet|"
    r"gesendet von (?:meinem )?(?:iphone|ipad|smartphone|android|handy)|"
    r"envoyé (?:de|depuis) mon (?:iphone|ipad|smartphone|mobile|android)|"
    r"enviado desde mi (?:iphone|ipad|smartphone|móvil|celular|android)|"
    r"enviado do meu (?:iphone|ipad|smartphone|celular|telemóvel|android)|"
    r"inviato da(?:l mio)? (?:iphone|ipad|smartphone|android))\b.{0,40}$",
    re.IGNORECASE,
)
_VALEDICTION = re.compile(
    r"^(?:(?:best|kind|warm|warmest|many|with kind)?\s*regards|best(?: wishes)?|cheers|"
    r"thanks(?: again| a lot| in advance)?|"
    r"thank you(?: in advance)?|many thanks|thx|ta|sincerely|yours(?: sincerely| truly)?|all the best|br|"
    r"(?:mit )?(?:freundlichen|besten|vielen|herzlichen|liebe|beste|viele) grüßen?|(?:viele |beste |liebe )?grüße|"
    r"gruß|lg|mfg|vg|danke(?: schön)?|cordialement|bien (?:à vous|cordialement)|bien à toi|salutations|"
    r"meilleures salutations|merci(?: beaucoup| d'avance)?|bonne journée|saludos(?: cordiales)?|un saludo|"
    r"atentamente|gracias|muchas gracias|atenciosamente|abraços|obrigad[oa]|cumprimentos|"
    r"cordiali saluti|distinti saluti|saluti|grazie|met vriendelijke groet(?:en)?|groet(?:en|jes)?)[\s,.!]*$",
    re.IGNORECASE,
)
# What a contact line is made of besides names: phone numbers, e-mail addresses, links and their labels.
_CONTACT_TOKEN = re.compile(
    r"\+?\d[\d\s().\-/]{6,}\d|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://\S+|\bwww\.\S+|"
    r"\b(?:tel|phone|mobile|mob|cell|fax|m|t|p|e|d)\b\.?\s?:?(?=\s|$)|[|·]",
    re.IGNORECASE,
)
_DISCLAIMER = re.compile(
    r"^\W*(?:disclaimer|confidentiality(?: notice)?|legal notice|important notice|privileged (?:and|&) "
    r"confidential|vertraulichkeitshinweis|haftungsausschluss|avis de confidentialité|aviso (?:legal|de "
    r"confidencialidad)|aviso de confidencialidade)\b\W*:?|"
    r"\b(?:is|are|may be|contains?) (?:strictly )?(?:confidential|privileged)\b|"
    r"\bconfidential and (?:may be )?(?:legally )?privileged\b|"
    r"\bintended (?:solely |only |exclusively )?for the (?:use of the )?(?:named |intended )?(?:addressee|recipient|"
    r"individual|person)|\bintended (?:solely|only|exclusively) for\b|"
    r"\bif you (?:have )?received (?:this|it)\b.{0,40}\b(?:in error|by mistake)|"
    r"\bunauthori[sz]ed (?:use|review|disclosure|copying|distribution)|"
    r"\bconsider the environment before printing|\bthis (?:e-?mail|message) (?:was|has been) scanned|"
    r"\bscanned (?:by|for viruses)\b|"
    r"\b(?:vertraulich(?:e|en)? (?:und|oder)|irrtümlich erhalten|nicht der (?:richtige|beabsichtigte) adressat)|"
    r"\b(?:ce|cet) (?:message|courriel|e-?mail)\b.{0,80}\bconfidentiel|\bdestinataire(?:s)? (?:exclusif|unique)|"
    r"\b(?:este|esta) (?:mensaje|correo|mensagem|e-?mail)\b.{0,80}\bconfidencial|"
    r"\b(?:dirigido|destinado|destinada) (?:exclusivamente|únicamente|unicamente) a",
    re.IGNORECASE,
)

# ---- text that addresses the system -----------------------------------------------------------

# A line labelled as if it came from the system, the assistant or the developer ...
_ADDRESSED_LABEL = re.compile(
    r"^\W*(?:system|admin|administrator|developer|assistant|ai|bot|model|llm|operator)"
    r"(?: (?:note|message|prompt|instructions?|override|update|directive))?\s*[:\]>-]|"
    r"^\W*(?:note|message|instructions?) (?:to|for) (?:the )?(?:ai|assistant|bot|model|agent|llm|support bot)\b|"
    r"^\W*(?:new|updated|additional) instructions\s*:|^\s*(?:\[/?(?:inst|system)\]|<\|?(?:system|im_start)\|?>)",
    re.IGNORECASE,
)
# ... or a sentence that tries to rewrite its instructions.
_ADDRESSED_SENTENCE = re.compile(
    r"\b(?:ignore|disregard|forget|override) (?:all |any |the |your )*(?:previous|prior|above|earlier|"
    r"preceding|system|original)? ?(?:instructions|prompts?|rules|guidelines|directions|messages)\b|"
    r"\byou are now (?:a|an|in|my)\b|\bact as (?:a|an|my) (?!customer)|\bpretend (?:to be|you are)\b|"
    r"\b(?:the|you,? the) (?:ai|assistant|bot|model|agent|llm)s? (?:must|should|shall|will|is (?:required|"
    r"instructed|authori[sz]ed) to)\b|\bjailbreak\b|\bdeveloper mode\b",
    re.IGNORECASE,
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")

# ---- the new words point at what follows --------------------------------------------------------

_POINTS_BELOW = re.compile(
    r"\b(?:see|read|check) (?:below|the (?:thread|mail|e-?mail|message|note) below|the (?:forwarded|attached) "
    r"(?:thread|mail|e-?mail|message))|\bbelow\b|\bforward(?:ing|ed)\b|\bfyi\b|\bshar(?:e|ing) this\b|"
    r"\bpass(?:ing)? (?:this|it) (?:on|along)\b|\b(?:for|have the|the full) context\b|\bsiehe unten\b|\bunten\b|"
    r"\bweitergeleitet|\bci-dessous\b|\bpour info\b|\bvoir (?:plus )?bas\b|\babajo\b|\babaixo\b|\bver (?:abajo|"
    r"abaixo)\b|\bqui sotto\b|\bzie (?:hieronder|onder)\b|"
    # a message relayed in a quote ("Posted on behalf of Ana:", "She writes:"): the quote is what they say
    r"\bon behalf of\b[^\n]*:[ \t]*$|\b(?:writes|wrote|says|said|asks|asked)[ \t]*:[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_EMAIL_ADDRESS = re.compile(r"<?\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b>?")


@dataclass(frozen=True)
class PreparedText:
    """One customer message, split. `new_text` is what triage, retrieval and the reply read."""

    raw: str
    new_text: str
    quoted: str = ""  # earlier messages of the thread the mail quotes (attribution and headers included)
    forwarded: str = ""  # forwarded mails (markers and headers included)
    signature: str = ""
    disclaimer: str = ""
    # Lines or sentences the customer pasted that address the system; never read as instructions.
    addressed_to_system: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return self.new_text != self.raw.strip()

    @property
    def referenced(self) -> str:
        """The forwarded or quoted mail the new words point at ("see below", "FYI", a bare forward),
        as plain text: no headers, no quote marks, no addresses. "" when the new words stand alone."""
        material = self.forwarded or self.quoted
        if not material:
            return ""
        words = len(re.findall(r"\w+", self.new_text))
        if not (_POINTS_BELOW.search(self.new_text) or (self.forwarded and words < 8)):
            return ""
        plain = _plain(material)[:MAX_REFERENCED_CHARS]
        return "" if plain == self.new_text else plain

    @property
    def focus(self) -> str:
        """What the customer is asking about: the new words, then the mail they point at, if any."""
        ref = self.referenced
        return f"{self.new_text}\n\n{ref}" if ref else self.new_text


def prepare(text: str) -> PreparedText:
    """Split a customer message into its new words and everything else (see the module doc)."""
    raw = text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut, kind = _history_start(lines)
    head, history = lines[:cut], lines[cut:]
    quoted: list[str] = history if kind == "quoted" else []
    forwarded: list[str] = history if kind == "forwarded" else []

    head, quote_blocks = _without_quote_blocks(head)
    quoted = quote_blocks + quoted
    head, addressed = _without_addressed(head)
    head, disclaimer = _without_disclaimers(head)
    head, signature = _without_signature(head)

    new_text = _tidy("\n".join(head))
    prepared = PreparedText(
        raw=raw,
        new_text=new_text,
        quoted=_tidy("\n".join(quoted)),
        forwarded=_tidy("\n".join(forwarded)),
        signature=_tidy("\n".join(signature)),
        disclaimer=_tidy("\n".join(disclaimer)),
        addressed_to_system=tuple(addressed),
    )
    if not any(ch.isalnum() for ch in new_text):
        # Nothing of their own (a bare forward, or only pasted instructions): what they sent, without
        # headers and without anything addressed to the system.
        fallback = _plain(prepared.forwarded or prepared.quoted) or ("" if addressed else _tidy(text))
        return replace(prepared, new_text=fallback[:MAX_REFERENCED_CHARS])
    return prepared


def prepared_text(text: str) -> str:
    """Shorthand: what triage, retrieval and the reply read of a customer message."""
    return prepare(text).focus


# ---- the steps -------------------------------------------------------------------------------------


def _history_start(lines: list[str]) -> tuple[int, str]:
    """Index of the first line of quoted or forwarded history, and which; (len, "") when none."""
    for i, line in enumerate(lines):
        s = line.strip()
        bare = re.sub(r"^(?:>\s?)+", "", s)
        if not bare:
            continue
        if _FORWARD.match(bare):
            return i, "forwarded"
        if _ORIGINAL.match(bare):
            return i, "quoted"
        if _is_attribution(bare, lines[i + 1].strip() if i + 1 < len(lines) else ""):
            return i, "quoted"
        if _RULE.match(bare) and _header_block_at(lines, i + 1):
            return i, "quoted"
        if i > 0 and _header_block_at(lines, i):
            return i, "quoted"
    return len(lines), ""


def _is_attribution(line: str, following: str) -> bool:
    for candidate in (line, f"{line} {following}"):
        if len(candidate) < 400 and _ATTRIBUTION.match(candidate) and _HAS_DATE_OR_ADDRESS.search(candidate):
            return True
    return False


def _header_block_at(lines: list[str], i: int) -> bool:
    """An Outlook-style header block starts at line i: "From:" and a "Sent:"/"Date:" within 5 lines."""
    if i >= len(lines) or not _HEADER_FROM.match(lines[i].strip()):
        return False
    following = [ln.strip() for ln in lines[i + 1 : i + 6]]
    keys = [ln for ln in following if _HEADER_KEY.match(ln)]
    return len(keys) >= 2 and any(_HEADER_WHEN.match(ln) for ln in following)


def _without_quote_blocks(lines: list[str]) -> tuple[list[str], list[str]]:
    """Lines starting with ">" (an inline-quoted earlier message) set aside, if anything else is left."""
    kept = [ln for ln in lines if not ln.lstrip().startswith(">")]
    quoted = [ln for ln in lines if ln.lstrip().startswith(">")]
    if not quoted or not any(ch.isalnum() for ln in kept for ch in ln):
        return lines, []
    return kept, quoted


def _without_addressed(lines: list[str]) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    addressed: list[str] = []
    for line in lines:
        if _ADDRESSED_LABEL.match(line):
            addressed.append(line.strip())
            continue
        if _ADDRESSED_SENTENCE.search(line):
            sentences = _SENTENCE_SPLIT.split(line)
            bad = [s for s in sentences if _ADDRESSED_SENTENCE.search(s)]
            addressed.extend(s.strip() for s in bad)
            line = " ".join(s for s in sentences if s not in bad)
            if not line.strip():
                continue
        kept.append(line)
    return kept, addressed


def _first_content(lines: list[str]) -> int:
    return next((i for i, ln in enumerate(lines) if any(ch.isalnum() for ch in ln)), len(lines))


def _without_disclaimers(lines: list[str]) -> tuple[list[str], list[str]]:
    """Disclaimer lines (and the rest of their paragraph) after the first line of content."""
    first = _first_content(lines)
    kept: list[str] = []
    disclaimer: list[str] = []
    in_disclaimer = False
    for i, line in enumerate(lines):
        if not line.strip():
            in_disclaimer = False
            kept.append(line)
            continue
        if i > first and (in_disclaimer or _DISCLAIMER.search(line) or _is_banner(line)):
            # A disclaimer wrapped over several lines goes on to the paragraph's end; a banner is one line.
            in_disclaimer = not _is_banner(line)
            disclaimer.append(line)
            continue
        kept.append(line)
    return kept, disclaimer


def _is_banner(line: str) -> bool:
    """ "*** This message was scanned by … ***" and the like: a line framed by asterisks or equals signs."""
    s = line.strip()
    return len(s) > 10 and bool(re.match(r"^(\*{2,}|={2,}|#{2,}).*(\*{2,}|={2,}|#{2,})$", s))


def _without_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    first = _first_content(lines)
    # Phone sign-offs ("Sent from my iPhone") wherever they are.
    mobile = [i for i, ln in enumerate(lines) if i > first and _MOBILE.match(ln.strip())]
    signature = [lines[i] for i in mobile]
    lines = [ln for i, ln in enumerate(lines) if i not in set(mobile)]
    # "-- " starts the signature, by convention.
    for i, line in enumerate(lines):
        if i > first and _SIG_DASHES.match(line):
            return lines[:i], [*lines[i:], *signature]
    # Otherwise a closing block at the end: a valediction and what follows it, or a name-and-contact
    # paragraph of its own.
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > first + 1 and end - start < 7:
        line = lines[start - 1].strip()
        if not line:
            break
        if _VALEDICTION.match(line):
            if start == end:  # a closing "Thanks" with no name after it is part of the message
                break
            start -= 1
            return lines[:start], [*lines[start:], *signature]
        if not _signature_like(line):
            break
        start -= 1
    if start < end:
        own_paragraph = start > 0 and not lines[start - 1].strip()
        valediction_inline = start > 0 and bool(_VALEDICTION.match(lines[start - 1].strip()))
        if own_paragraph or valediction_inline:
            return lines[:start], [*lines[start:], *signature]
    return lines, signature


def _signature_like(line: str) -> bool:
    """A signature line: a name, title or company, with phone numbers, addresses and links around it."""
    if line.endswith("?") or len(line) > 90:
        return False
    rest = _CONTACT_TOKEN.sub(" ", line).strip(" |·,-/")
    return not re.search(r"\w", rest) or _name_like(rest)


_CONNECTORS = {"of", "at", "and", "&", "de", "da", "do", "dos", "van", "von", "der", "den", "la", "le", "y", "e", "-"}


def _name_like(line: str) -> bool:
    """A name, a job title or a company: a few words, each capitalised (or a connector), no sentence."""
    if line.endswith((".", "?", "!", ":")) and not re.search(r"\b(?:Inc|Ltd|GmbH|Corp|Co|S\.A|B\.V)\.$", line):
        return False
    words = re.findall(r"[^\s,|·/()]+", line)
    if not 1 <= len(words) <= 6:
        return False
    return all(w[0].isupper() or w[0].isdigit() or w.lower() in _CONNECTORS for w in words)


def _plain(material: str) -> str:
    """Quoted or forwarded mail as plain text: headers, markers, quote marks and addresses removed."""
    out: list[str] = []
    for line in material.split("\n"):
        bare = re.sub(r"^(?:>\s?)+", "", line.strip())
        if (
            _FORWARD.match(bare)
            or _ORIGINAL.match(bare)
            or _RULE.match(bare)
            or _HEADER_KEY.match(bare)
            or _is_attribution(bare, "")
        ):
            continue
        out.append(_EMAIL_ADDRESS.sub("", bare).strip())
    return _tidy("\n".join(out))


def _tidy(text: str) -> str:
    """Trailing spaces off, runs of blank lines collapsed to one, stripped."""
    text = "\n".join(ln.rstrip() for ln in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
