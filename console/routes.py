"""The console's pages, mounted under /console by api/main.py: one router assembled from its parts.

Every page reads through the services the JSON API uses (api.service.views, db.reports, db.live) and
every decision goes through api.auth.authorize and api.service.decisions.decide with the screen's
`seen_seq` / `expect_assignee`, so the console can do nothing the signed-in agent's key could not do
with curl, and a stale screen is refused with the workflow's reason.

* console/web.py: what every page shares (app state, the signed-in agent, templates, form helpers);
* console/signin.py: static assets, sign-in and sign-out;
* console/oidc.py: sign-in through an OpenID Connect provider (when OIDC_ISSUER is set);
* console/tickets.py: the queue and a ticket's page;
* console/decide.py: a ticket's decision forms;
* console/dashboard_pages.py: the team lead's dashboard and its CSV downloads;
* console/stream.py: the server-sent event stream of changed tickets (and of a ticket's viewers);
* console/reply_tools.py: the reply box's saved replies and help-article search;
* console/saved_replies_page.py: the team's saved replies, managed;
* console/presence.py: who else is viewing a ticket;
* console/drafts.py: the stream of a ticket's reply drafts while a streaming model writes it.
"""

from __future__ import annotations

from fastapi import APIRouter

from console import (
    dashboard_pages,
    decide,
    drafts,
    oidc,
    presence,
    reply_tools,
    saved_replies_page,
    signin,
    stream,
    tickets,
)

router = APIRouter(include_in_schema=False)
for part in (signin, oidc, tickets, decide, stream, drafts, dashboard_pages, reply_tools, saved_replies_page, presence):
    router.include_router(part.router)
