"""The payload codec: AES-GCM, key rotation, per-customer data keys (crypto-shredding), the codec endpoint.

The end-to-end test opens a real ticket through the API (dev server, worker, Postgres) and reads its
history as someone without the codec would: a client with the default converter, raw payload bytes.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import asyncpg
import pytest
from google.protobuf import json_format
from pydantic import SecretStr, ValidationError
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest
from temporalio.client import Client
from temporalio.converter import DataConverter, WorkflowSerializationContext

from api.service.ids import workflow_id_for
from clients import codec_of, data_converter
from codec.keys import DecryptionFailed, KeyRing, UnknownKey, new_key
from codec.payload import KEY_ID, EncryptionCodec
from db import data_keys
from db.data_keys import DataKeys
from domain.models import Channel
from settings import Settings
from supportctl.stack import dev_server_argv
from tests.api_stack import PAYLOAD_KEYS, Stack, agent_replies, serve_api
from workflows.ticket import TicketWorkflow
from workflows.types import TicketInput

WORD = "Quetzalcoatlus"  # the distinctive word
LATER = "Pterodaustro"  # the word of a follow-up (a signal)
NAME, EMAIL = "Zebulon Quixote", "zebulon.quixote@example.com"


def _ring(*ids: str, write: str | None = None, keys: dict[str, str] | None = None) -> KeyRing:
    keys = keys or {i: new_key() for i in ids}
    return KeyRing.from_base64(keys, write or ids[-1])


def _json(value: Any) -> Payload:
    return DataConverter.default.payload_converter.to_payload(value)


async def test_round_trip_rotation_and_plaintext_pass_through() -> None:
    old = {"k1": new_key()}
    before = EncryptionCodec(KeyRing.from_base64(old, "k1"))
    [sealed] = await before.encode([_json({"body": WORD})])
    assert sealed.metadata["encoding"] == b"binary/encrypted" and sealed.metadata[KEY_ID] == b"k1"
    assert WORD.encode() not in sealed.SerializeToString()

    rotated = EncryptionCodec(KeyRing.from_base64({**old, "k2": new_key()}, "k2"))
    [new] = await rotated.encode([_json("x")])
    assert new.metadata[KEY_ID] == b"k2"  # the new key writes
    [read] = await rotated.decode([sealed])  # the old one still reads
    assert json.loads(read.data) == {"body": WORD} and read.metadata["encoding"] == b"json/plain"

    plain = _json({"recorded": "before the codec"})
    assert await rotated.decode([plain]) == [plain]  # histories from before the codec replay as they are

    with pytest.raises(UnknownKey):  # a key removed from PAYLOAD_KEYS no longer reads
        await EncryptionCodec(_ring("k3")).decode([sealed])
    forged = Payload()
    forged.CopyFrom(new)
    forged.metadata[KEY_ID] = b"k1"  # the key id is authenticated: relabelling fails
    with pytest.raises((DecryptionFailed, UnknownKey)):
        await rotated.decode([forged])


def test_settings_refuse_placeholder_keys_and_a_missing_writer() -> None:
    zeros = base64.b64encode(bytes(32)).decode()
    for bad in (
        {"PAYLOAD_KEYS": {"k": SecretStr(zeros)}},
        {"PAYLOAD_KEYS": {"k": SecretStr(base64.b64encode(b"short").decode())}},
        {"PAYLOAD_KEYS": {"a": SecretStr(new_key()), "b": SecretStr(new_key())}},  # which one writes?
        {"PAYLOAD_KEYS": {"a": SecretStr(new_key())}, "PAYLOAD_KEY_ID": "b"},
        {"PAYLOAD_KEY_ID": "a"},
        {"CODEC_KEY": SecretStr("changeme")},
        {"CODEC_KEY": SecretStr("s" * 20), "API_KEY": "s" * 20},
    ):
        with pytest.raises(ValidationError):
            Settings(**bad)
    ok = Settings(PAYLOAD_KEYS={"a": SecretStr(new_key()), "b": SecretStr(new_key())}, PAYLOAD_KEY_ID="b")
    assert ok.CODEC_CORS_ORIGINS == ["http://127.0.0.1:8233", "http://localhost:8233"]


async def test_customer_keys_shred_and_survive_a_master_key_rotation(pool: asyncpg.Pool) -> None:
    m1, m2 = new_key(), new_key()
    ring = KeyRing.from_base64({"m1": m1}, "m1")
    keys = DataKeys(ring, pool=pool)
    customer, wid = f"cus-{uuid.uuid4().hex[:8]}", f"ticket-tkt_{uuid.uuid4().hex[:16]}"
    await keys.bind(wid, customer)
    codec = EncryptionCodec(ring, keys, workflow_id=wid)
    [sealed] = await codec.encode([_json(WORD)])
    assert sealed.metadata[KEY_ID].startswith(b"cdk_")  # the customer's data key, not the master key
    [other] = await codec.with_context(WorkflowSerializationContext("default", "not-a-ticket")).encode([_json(1)])
    assert other.metadata[KEY_ID] == b"m1"  # no customer: the master key

    # master key rotation: m2 writes, the data keys are re-sealed under it, and m1 can go
    # (the run's shared database also holds data keys sealed by the run's own master key: it stays readable)
    assert await data_keys.rewrap(pool, KeyRing.from_base64({**PAYLOAD_KEYS, "m1": m1, "m2": m2}, "m2")) >= 1
    only_m2 = KeyRing.from_base64({"m2": m2}, "m2")
    fresh = EncryptionCodec(only_m2, DataKeys(only_m2, pool=pool), fresh=True)
    assert json.loads((await fresh.decode([sealed]))[0].data) == WORD

    # the run's other customers' keys were re-sealed under m2 too: back under the run's key for later tests
    await data_keys.rewrap(pool, KeyRing.from_base64({**PAYLOAD_KEYS, "m2": m2}, next(iter(PAYLOAD_KEYS))))
    assert await data_keys.destroy(pool, customer) == 1  # erasure
    keys.forget(customer)
    for reader in (codec, fresh):
        with pytest.raises(UnknownKey):
            await reader.decode([sealed])


async def _raw_client(stack: Stack) -> Client:
    # what an operator without the codec sees: the default converter, no key
    return await Client.connect(stack.client.service_client.config.target_host, namespace=stack.client.namespace)


async def test_a_ticket_is_ciphertext_without_the_codec_readable_with_it_and_shredded_by_erasure(stack: Stack) -> None:
    cid = f"codec-{uuid.uuid4().hex[:8]}"
    r = await stack.http.put(f"/customers/{cid}", json={"email": EMAIL.replace("@", f"+{cid}@"), "name": NAME})
    assert r.status_code == 201, r.text
    email = r.json()["email"]
    body = f"My {WORD} invoice shows a double charge; I am {NAME}, reach me at {email}."
    r = await stack.http.post(
        "/tickets", json={"customer_id": cid, "channel": "email", "subject": f"{WORD} refund", "body": body}
    )
    assert r.status_code == 201, r.text
    tid, wid = r.json()["ticket_id"], r.json()["workflow_id"]
    await stack.wait_ticket(tid, agent_replies(1))
    # the customer writes again: the follow-up (a signal) and the agents' turn on it are in the history too
    r = await stack.http.post(f"/tickets/{tid}/messages", json={"body": f"And the {LATER} plan? {NAME}"})
    assert r.status_code == 202, r.text
    await stack.wait_ticket(
        tid, lambda t: sum(m["sender"] == "customer" for m in t["messages"]) >= 2 and t["status"] != "in_progress"
    )
    secrets = [WORD.encode(), NAME.encode(), email.encode(), LATER.encode(), cid.encode() + b"@"]

    raw = await _raw_client(stack)
    handle = raw.get_workflow_handle(wid)
    history = await handle.fetch_history()
    everything = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
    assert not [s for s in secrets if s in everything], "plaintext in the history"
    desc = await handle.describe()
    described = desc.raw_description.SerializeToString()
    assert not [s for s in secrets if s in described], "plaintext in memo, user metadata or search attributes"
    # search attributes stay readable (ids and enums)
    assert cid.encode() in desc.raw_description.workflow_execution_info.search_attributes.SerializeToString()
    query = await raw.workflow_service.query_workflow(
        QueryWorkflowRequest(
            namespace=raw.namespace,
            execution=desc.raw_description.workflow_execution_info.execution,
            query=WorkflowQuery(query_type="state"),
        )
    )
    assert query.query_result.payloads and query.query_result.payloads[0].metadata["encoding"] == b"binary/encrypted"
    assert not [s for s in secrets if s in query.query_result.SerializeToString()], "plaintext in the state query"

    # every payload of the history is sealed with the customer's data key
    payloads = _payloads_of(history.events)
    sealed_with = {p.metadata.get(KEY_ID, b"") for p in payloads}
    assert len(sealed_with) == 1 and next(iter(sealed_with)).startswith(b"cdk_"), sealed_with

    # through the codec endpoint they decode (what the UI and `temporal --codec-endpoint` do)
    ui = {"Origin": "http://127.0.0.1:8233"}
    pre = await stack.http.options("/codec/decode", headers={**ui, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == ui["Origin"]
    wire = json_format.MessageToDict(Payloads(payloads=payloads + list(query.query_result.payloads)))
    r = await stack.http.post("/codec/decode", json=wire, headers=ui)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ui["Origin"]
    decoded = json_format.ParseDict(r.json(), Payloads()).payloads
    assert all(p.metadata["encoding"] != b"binary/encrypted" for p in decoded)
    plain = b"".join(p.data for p in decoded)
    assert all(s in plain for s in secrets[:4]), "the codec endpoint does not show the ticket"
    encoded = (
        await stack.http.post("/codec/encode", json={"payloads": [json_format.MessageToDict(_json("hi"))]})
    ).json()
    assert json_format.ParseDict(encoded, Payloads()).payloads[0].metadata["encoding"] == b"binary/encrypted"

    # erasure destroys the customer's key: the same history no longer decodes, even with the codec
    await stack.client.get_workflow_handle(wid).terminate("test: done")
    await stack.pool.execute("UPDATE tickets SET status = 'closed' WHERE ticket_id = $1", tid)
    assert (await stack.http.delete(f"/customers/{cid}")).status_code == 200
    r = await stack.http.post("/codec/decode", json=wire, headers=ui)
    assert r.status_code == 200
    after = json_format.ParseDict(r.json(), Payloads()).payloads
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in after)
    assert not [s for s in secrets if s in b"".join(p.SerializeToString() for p in after)]
    codec = codec_of(stack.client)
    assert codec is not None
    codec.data_keys.forget(cid) if codec.data_keys else None  # the test client's cache, as after PAYLOAD_KEY_CACHE_S
    with pytest.raises(UnknownKey):
        await codec.decode(payloads[:1])


async def test_memo_and_user_metadata_of_a_ticket_are_sealed_with_its_customers_key(stack: Stack) -> None:
    """The Temporal UI's Memo and Summary / Details panels: what a client of ours writes there on a customer's
    ticket is ciphertext without the codec, readable through the codec endpoint, and shredded by erasure.
    (Our tickets write a summary and the console link as details; this test writes customer text in all three.)"""
    cid = f"codec-{uuid.uuid4().hex[:8]}"
    r = await stack.http.put(f"/customers/{cid}", json={"email": EMAIL.replace("@", f"+{cid}@"), "name": NAME})
    assert r.status_code == 201, r.text
    email = r.json()["email"]
    note = f"{WORD} refund for {NAME} <{email}>"
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    wid = workflow_id_for(tid)
    handle = await stack.client.start_workflow(  # on a queue no worker polls: only what the client wrote
        TicketWorkflow.run, TicketInput(tid, cid, Channel.EMAIL, WORD, note), id=wid,
        task_queue=f"idle-{uuid.uuid4().hex[:6]}", memo={"note": note}, static_summary=note, static_details=note,
    )  # fmt: skip
    secrets = [WORD.encode(), NAME.encode(), email.encode()]

    raw = (await (await _raw_client(stack)).get_workflow_handle(wid).describe()).raw_description
    assert not [s for s in secrets if s in raw.SerializeToString()], "plaintext in memo or user metadata"
    metadata = raw.execution_config.user_metadata
    sealed = [*raw.workflow_execution_info.memo.fields.values(), metadata.summary, metadata.details]
    assert len(sealed) == 3 and all(p.metadata[KEY_ID].startswith(b"cdk_") for p in sealed), sealed

    wire = json_format.MessageToDict(Payloads(payloads=sealed))
    r = await stack.http.post("/codec/decode", json=wire)
    assert r.status_code == 200, r.text
    decoded = json_format.ParseDict(r.json(), Payloads()).payloads
    assert all(s in p.data for p in decoded for s in secrets), "the codec endpoint does not show them"

    await handle.terminate("test: done")
    assert (await stack.http.delete(f"/customers/{cid}")).status_code == 200
    after = json_format.ParseDict((await stack.http.post("/codec/decode", json=wire)).json(), Payloads()).payloads
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in after) and len(after) == 3


def _payloads_of(events: Any) -> list[Payload]:
    """Every Payload message inside the events, found by walking the protobuf fields."""
    found: list[Payload] = []

    def walk(message: Any) -> None:
        if isinstance(message, Payload):
            found.append(message)
            return
        for field, value in message.ListFields():
            if field.type != field.TYPE_MESSAGE:
                continue
            if field.message_type.GetOptions().map_entry:
                for v in value.values():
                    if hasattr(v, "ListFields"):
                        walk(v)
            elif field.label == field.LABEL_REPEATED:
                for v in value:
                    walk(v)
            else:
                walk(value)

    for e in events:
        # the SDK writes patch markers (workflow.patched ids: code names, no data) unencoded, by design
        if not (
            e.HasField("marker_recorded_event_attributes")
            and e.marker_recorded_event_attributes.marker_name == "core_patch"
        ):
            walk(e)
    # search attributes are indexed, not encoded: they are not the codec's
    return [p for p in found if not (p.metadata.get("encoding") == b"json/plain" and "type" in p.metadata)]


async def test_the_codec_endpoint_has_its_own_key(stack: Stack) -> None:
    wire = {"payloads": [json_format.MessageToDict(_json("hi"))]}
    codec_key = {"Authorization": "Bearer operator-codec-key-01"}
    keyed = stack.settings.model_copy(
        update={"API_KEY": "integration-key-0001", "CODEC_KEY": SecretStr("operator-codec-key-01")}
    )
    async with serve_api(keyed) as http:
        assert (await http.post("/codec/encode", json=wire)).status_code == 401
        api_key = {"Authorization": "Bearer integration-key-0001"}
        assert (await http.post("/codec/decode", json=wire, headers=api_key)).status_code == 401
        r = await http.post("/codec/encode", json=wire, headers=codec_key)
        assert r.status_code == 200
        bad = await http.post("/codec/decode", content=b"{nope", headers=codec_key)
        assert bad.status_code == 400
    no_codec_key = stack.settings.model_copy(update={"API_KEY": "integration-key-0001"})
    async with serve_api(no_codec_key) as http:
        r = await http.post("/codec/decode", json=wire, headers={"Authorization": "Bearer integration-key-0001"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "codec_disabled"
    # a browser origin that is not the UI's gets no CORS grant
    r = await stack.http.options("/codec/decode", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


def test_the_converter_follows_the_settings() -> None:
    keys = {"a": SecretStr(new_key())}
    assert isinstance(data_converter(Settings(PAYLOAD_KEYS=keys, PAYLOAD_KEY_ID="a")).payload_codec, EncryptionCodec)
    assert data_converter(Settings(PAYLOAD_ENCRYPTION=False)).payload_codec is None


def test_make_dev_points_the_ui_at_the_codec_endpoint() -> None:
    argv = dev_server_argv(Settings(API_HOST="0.0.0.0", API_PORT=8123), None)
    assert argv[argv.index("--ui-codec-endpoint") + 1] == "http://127.0.0.1:8123/codec"
    assert "--ui-codec-endpoint" not in dev_server_argv(Settings(PAYLOAD_ENCRYPTION=False), None)


async def test_a_database_whose_data_keys_another_keyring_sealed_is_named_at_start_up(own_database: str) -> None:
    """A demo database set up by another checkout (its own generated master key) failed every new ticket
    with a 500; the stack's preparation now says which keys the database needs before anything starts."""
    from db.pool import create_pool

    theirs = KeyRing.from_base64({"local-1": new_key()}, "local-1")
    ours = KeyRing.from_base64({"local-1": new_key()}, "local-1")  # same id, other bytes: another checkout
    pool = await create_pool(own_database, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            assert await data_keys.keyring_mismatch(conn, ours) is None  # no data keys yet: nothing to open
        await DataKeys(theirs, pool=pool).bind(f"ticket-tkt_{uuid.uuid4().hex[:16]}", "cus_1001")
        async with pool.acquire() as conn:
            assert await data_keys.keyring_mismatch(conn, theirs) is None
            why = await data_keys.keyring_mismatch(conn, ours)
        assert why is not None and "'local-1'" in why and "fresh database" in why and "PAYLOAD_KEYS" in why
    finally:
        await pool.close()
