"""The restart policy a service's containers get, as docker compose's create decides it
(getRestartPolicy in pkg/compose/create.go): `restart:`, then `deploy.restart_policy` over it
when that is set too (docker compose reads `deploy` last, so it wins). The deploy block's
swarm words map onto the engine's: `none` is `no`, `any` is `always`; `max_attempts` becomes
the retry count. Docker's daemon refuses a retry count on another policy than `on-failure`
and an unknown policy at create; the engine does the same with what this returns
(engine.runtime_options.parse_restart_policy), so nothing is checked twice here."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_DEPLOY_CONDITIONS = {"none": "no", "no": "no", "any": "always", "always": "always"}


def restart_policy(raw: dict[str, Any]) -> str:
    """`no`, `always`, `unless-stopped` or `on-failure[:N]` (or what the engine refuses)."""
    deploy = raw.get("deploy")
    policy = deploy.get("restart_policy") if isinstance(deploy, dict) else None
    if not isinstance(policy, dict):
        return str(raw.get("restart") or "no")
    condition = str(policy.get("condition") or "")
    if not condition:  # Docker's empty policy name: no restart, whatever the count
        return "no"
    name = _DEPLOY_CONDITIONS.get(condition, condition)
    attempts = policy.get("max_attempts")
    return f"{name}:{attempts}" if attempts not in (None, 0) else name
