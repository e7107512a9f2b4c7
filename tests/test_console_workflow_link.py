"""The link back from the Temporal UI to the console: a ticket's workflow carries, in its Details panel,
the address of the ticket's console page (only the ticket id, sealed like every payload), and the
address opens that page."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from api.service.ids import workflow_id_for
from codec.payload import KEY_ID
from settings import Settings
from tests.api_stack import Stack, serve_api
from tests.console_helpers import sign_in
from tests.lifecycle_world import current_details


async def _open(http: httpx.AsyncClient, subject: str) -> str:
    body = {"customer_id": "cus_1001", "channel": "email", "subject": subject, "body": "Where is my invoice?"}
    r = await http.post("/tickets", json=body)
    assert r.status_code == 201, r.text
    tid: str = r.json()["ticket_id"]
    return tid


async def test_a_tickets_workflow_links_back_to_its_console_page(stack: Stack) -> None:
    subject = f"Invoice {uuid.uuid4().hex[:8]}"
    tid = await _open(stack.http, subject)
    desc = await stack.client.get_workflow_handle(workflow_id_for(tid)).describe()
    details = await desc.static_details()
    console = stack.settings.console_url()
    assert console is not None and details is not None
    link = f"{console}/tickets/{tid}"
    assert f"({link})" in details, details  # a markdown link, as the UI renders it
    assert subject not in details and "invoice" not in details.lower()  # no customer text beyond the id
    assert subject in (await desc.static_summary() or "")  # the summary the list shows is unchanged
    sealed = desc.raw_description.execution_config.user_metadata.details
    assert sealed.metadata[KEY_ID].startswith(b"cdk_") and tid.encode() not in sealed.data
    # the running workflow's current details lead with the same link (what a run continued as new keeps)
    current = await current_details(stack.client.get_workflow_handle(workflow_id_for(tid)))
    assert current.split("\n\n")[0] == details, current

    # the address is the console's ticket page: signed in, it shows this ticket
    path = re.sub(r"^https?://[^/]+", "", link)
    async with httpx.AsyncClient(base_url=str(stack.http.base_url), timeout=60) as me:
        assert (await sign_in(me, name="dana")).status_code == 303
        page = await me.get(path)
        assert page.status_code == 200 and tid in page.text and subject in page.text


async def test_the_console_address_is_set_or_off(stack: Stack) -> None:
    public = stack.settings.model_copy(update={"CONSOLE_PUBLIC_URL": "https://support.example.com/console/"})
    async with serve_api(public) as http:
        tid = await _open(http, "Public address")
        details = await (await stack.client.get_workflow_handle(workflow_id_for(tid)).describe()).static_details()
        assert details is not None and f"(https://support.example.com/console/tickets/{tid})" in details
    async with serve_api(stack.settings.model_copy(update={"CONSOLE_PUBLIC_URL": "off"})) as http:
        tid = await _open(http, "No link")
        desc = await stack.client.get_workflow_handle(workflow_id_for(tid)).describe()
        assert await desc.static_details() is None and await desc.static_summary()
        current = await current_details(stack.client.get_workflow_handle(workflow_id_for(tid)))
        assert "No link" in current and "Support console" not in current


def test_the_console_address_follows_the_api_unless_set() -> None:
    assert Settings(API_HOST="0.0.0.0", API_PORT=8123).console_url() == "http://127.0.0.1:8123/console"
    assert Settings(API_HOST="::1", API_PORT=8000).console_url() == "http://[::1]:8000/console"
    assert Settings(CONSOLE_PUBLIC_URL="OFF").console_url() is None
    with pytest.raises(ValueError, match="CONSOLE_PUBLIC_URL"):
        Settings(CONSOLE_PUBLIC_URL="support.example.com/console")
