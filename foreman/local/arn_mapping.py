"""A config's labourer ARNs pointed at the local stack: what ``foreman local serve --config`` and ``foreman config
put`` on a local endpoint do with the ARNs of the account and region you will deploy to."""

from __future__ import annotations

from typing import Any

from foreman.local.deployer import ACCOUNT, REGION


def local_arns(raw: dict[str, Any], config: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The config with every labourer's ARN pointing at this endpoint's function of the same name, and the ARNs
    that changed (original -> local). A bare function name already resolves locally and is kept."""
    mapped: dict[str, str] = {}
    labourers = raw.get("task_config", {}).get("labourers", {})
    for labourer in config.labourers:
        arn = str(labourer.arn)
        parts = arn.split(":")
        if not arn.startswith("arn:") or (parts[3], parts[4]) == (REGION, ACCOUNT):
            continue
        local = ":".join([*parts[:3], REGION, ACCOUNT, *parts[5:]])
        labourers[labourer.id]["arn"] = local
        mapped[arn] = local
    return raw, mapped
