"""Bug reports for engineering: what the agents file while answering reaches `GET /bug-reports`,
`supportctl bugs` and `GET /metrics`."""

from __future__ import annotations

import uuid

from tests.api_stack import Stack, agent_replies


async def test_a_bug_the_agents_file_reaches_engineerings_list(stack: Stack) -> None:
    product = f"SDK {uuid.uuid4().hex[:6]}"
    body = "The Python SDK crashes with a segfault since your latest release (3.2.0) whenever we call flush()."
    r = await stack.http.post(
        "/tickets",
        json={"customer_id": "cus_1001", "channel": "email", "subject": "SDK crash after upgrade", "body": body,
              "product": product},
    )  # fmt: skip
    tid = r.json()["ticket_id"]
    await stack.wait_ticket(tid, agent_replies(1))

    reports = (await stack.http.get("/bug-reports", params={"product": product})).json()

    (report,) = reports
    assert (report["ticket_id"], report["product"], report["title"]) == (tid, product, "SDK crash after upgrade")
    assert report["reported_by"] == "TechnicalAgent" and "flush()" in report["details"]
    severities = ["low", "medium", "high", "critical"]  # the agent rates it by the ticket's priority
    above = severities[severities.index(report["severity"]) + 1 :]
    if above:
        assert (
            await stack.http.get("/bug-reports", params={"product": product, "min_severity": above[0]})
        ).json() == []
    assert f'support_bug_reports_total{{severity="{report["severity"]}"}}' in (await stack.http.get("/metrics")).text
    for bad in ({"min_severity": "urgent"}, {"days": 0}, {"q": "crash"}):
        assert (await stack.http.get("/bug-reports", params=bad)).status_code == 422, bad
