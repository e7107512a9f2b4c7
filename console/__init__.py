"""The support console: the human agents' workspace and the team lead's dashboard, in the browser.

Server-rendered pages under `/console` (templates/, static/; no build step, nothing from a CDN), mounted
by api/main.py. It acts only through what the JSON API uses: the ticket and decision services
(api/service/), the role checks (api/auth.py), the report and live-floor queries (db/). Its own SQL is the
queue's views (console/queries.py), read-only.

Imports: api (services, auth, schemas, deps, errors), db, domain, settings (and authlib / joserfc for
OIDC); never workflows, activities, agents, kb or triage (decisions reach a ticket through
api.service.decisions alone).
"""
