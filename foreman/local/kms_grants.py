"""A Lambda step reads a config under a customer-managed KMS key only if the stack grants it, as on AWS.

moto enforces neither IAM nor key policies: it decrypts an SSM SecureString or an SSE-KMS S3 object for anybody. On
AWS a Lambda step's role needs ``kms:Decrypt`` on the key (the template grants it on ``ConfigKmsKeyArn``, through SSM
and S3 only), except under the AWS-managed keys (``alias/aws/ssm``, ``alias/aws/s3``), whose key policies let every
principal of the account decrypt through their service. Without it:

- SSM ``GetParameter`` with ``WithDecryption`` answers ``AccessDeniedException``, its message naming the key:
  "User: <role> is not authorized to perform: kms:Decrypt on resource: <key ARN> because no identity-based policy
  allows the kms:Decrypt action (Service: AWSKMS; ...)";
- S3 ``GetObject`` answers 403 ``AccessDenied``; ``HeadObject`` still answers (it needs no decryption) and names the
  object's key in ``SSEKMSKeyId``.

``config_key_grants`` makes the embedded stack answer the same, for calls made from a Lambda step (the local
runtime's thread: ``function_logs.current_function``); the person at the CLI or a test's harness is not a step.
The grant is the step's ``CONFIG_KMS_KEY_ARN`` (the template sets it from ``ConfigKmsKeyArn``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from foreman.local.function_logs import current_function

MANAGED_KEYS = frozenset({"alias/aws/ssm", "alias/aws/s3"})
"""The AWS-managed keys: every principal of the account may decrypt through their service."""

GRANT_VARIABLE = "CONFIG_KMS_KEY_ARN"

PATCHED = (
    ("moto.ssm.models", "SimpleSystemManagerBackend.get_parameter"),
    ("moto.s3.responses", "S3Response.get_object"),
    ("moto.s3.responses", "S3Response._get_key"),
)
"""What this module patches or calls in moto (the canary in tests/functional/test_moto_internals.py resolves each, and
checks the attributes it reads: ``FakeKey.encryption`` / ``kms_key_id``, ``Parameter.parameter_type`` / ``keyid``)."""


def denied(key_id: str | None, *, region: str, account: str) -> str | None:
    """The key's ARN if a step may not decrypt with it (``None``: no key, an AWS-managed key, or the one granted)."""
    if not key_id or key_id in MANAGED_KEYS or current_function() is None:
        return None
    arn = key_id if key_id.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key_id.split('/')[-1]}"
    granted = os.environ.get(GRANT_VARIABLE, "")
    if granted and (granted == arn or granted.endswith("/" + key_id.split("/")[-1])):
        return None
    return arn


def kms_denial_message(function: str, key_arn: str, account: str) -> str:
    """The message AWS gives a role that may not decrypt with ``key_arn``."""
    return (
        f"User: arn:aws:sts::{account}:assumed-role/{function}-role/{function} is not authorized to perform: "
        f"kms:Decrypt on resource: {key_arn} because no identity-based policy allows the kms:Decrypt action "
        "(Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)"
    )


@contextmanager
def config_key_grants() -> Iterator[None]:
    """Refuse a Lambda step's decrypting read under a customer-managed key it was not granted, as AWS does."""
    from moto.s3.exceptions import S3AccessDeniedError
    from moto.s3.responses import S3Response
    from moto.ssm.exceptions import AccessDeniedException
    from moto.ssm.models import SimpleSystemManagerBackend

    get_parameter = SimpleSystemManagerBackend.get_parameter
    get_object = S3Response.get_object

    def strict_get_parameter(self: Any, name: str) -> Any:
        parameter = get_parameter(self, name)
        if parameter is not None and parameter.parameter_type == "SecureString":
            key = denied(parameter.keyid, region=self.region_name, account=self.account_id)
            if key is not None:
                raise AccessDeniedException(kms_denial_message(current_function() or "", key, self.account_id))
        return parameter

    def strict_get_object(self: Any) -> Any:
        key, _ = self._get_key()
        if getattr(key, "encryption", None) == "aws:kms":
            arn = denied(key.kms_key_id, region=self.region, account=self.current_account)
            if arn is not None:
                raise S3AccessDeniedError()
        return get_object(self)

    with (
        mock.patch.object(SimpleSystemManagerBackend, "get_parameter", strict_get_parameter),
        mock.patch.object(S3Response, "get_object", strict_get_object),
    ):
        yield
