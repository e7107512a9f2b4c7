"""One signed POST and what its answer means: delivered, retry later, or refused for good."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from channels.webhooks.signing import Signer, encode_body

# 4xx answers that mean "not now" rather than "never": retried like a 5xx.
RETRYABLE_4XX = {408, 425, 429}
POST_TIMEOUT_S = 10.0
BASE_BACKOFF_S = 1.0


def backoff_s(attempts: int, cap_s: float) -> float:
    """The wait before the next try after `attempts` failed tries: 1, 2, 4 … seconds, at most `cap_s`."""
    return float(min(cap_s, BASE_BACKOFF_S * 2 ** min(max(attempts - 1, 0), 30)))


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None when no answer came
    error: str | None  # None when delivered (2xx)
    final: bool = False  # a permanent refusal (a 4xx other than RETRYABLE_4XX)

    @property
    def delivered(self) -> bool:
        return self.error is None

    @property
    def state(self) -> str:
        return "delivered" if self.delivered else "refused" if self.final else "failed"


async def post_signed(
    http: httpx.AsyncClient,
    url: str,
    signer: Signer,
    webhook_id: str,
    payload: object,
    extra_headers: dict[str, str] | None = None,
    timeout_s: float = POST_TIMEOUT_S,
) -> Outcome:
    """POST `payload` as JSON to `url`, signed now; the same bytes that were signed are sent."""
    body = encode_body(payload)
    headers = {**(extra_headers or {}), **signer.headers(webhook_id, body)}
    try:
        r = await http.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as e:
        return Outcome(None, f"{type(e).__name__}: {e}")
    if 200 <= r.status_code < 300:
        return Outcome(r.status_code, None)
    final = 400 <= r.status_code < 500 and r.status_code not in RETRYABLE_4XX
    return Outcome(r.status_code, f"HTTP {r.status_code}: {r.text[:200]}", final)
