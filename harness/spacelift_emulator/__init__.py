"""A local Spacelift GraphQL API for AWS integrations: a test instrument for the provider.

It serves the operations of `docs/spacelift-api.md` with
production's spellings, HTTP-200 errors, `apiKeyUser` token exchange, the attach rules and the
`externalIdForStack` formats, plus fault switches (`Emulator.faults`) and a request log
(`Emulator.requests`). Usage::

    with Emulator(api_keys={"01HXKEY...": "secret"}, stacks={"my-stack": "root"}) as spacelift:
        endpoint = spacelift.url + "/graphql"
        ...
        assert spacelift.request_count("awsIntegrationCreate") == 1

Modules: `schema.graphql` (the SDL), `state` (domain model and rules), `auth` (keys and
tokens), `resolvers` (schema <-> state), `documents` (parse/validate cache), `faults`,
`recording` (request log), `server` (HTTP), `emulator` (`Emulator`), `__main__` (CLI).

Unknowns and choices
--------------------
Where the reference leaves behaviour open, the emulator picks the stricter option, so a
client that passes here also copes with the alternative:

- Type names: only `User` and `AwsIntegration` are attested; `Viewer`, `Stack`,
  `AwsIntegrationStackAttachment`, `AwsIntegrationExternalId` are placeholders.
- Nullability: root mutation results the reference marks `!?` are non-null (an error makes
  `data` null); output fields marked `?` are nullable; arguments follow the brief's signatures.
- `durationSeconds`: default 900 when omitted or null; values outside 900..43200 (STS bounds)
  are refused.
- Update is a full replacement: an omitted or null optional argument resets that setting to
  its default instead of keeping the old value.
- `externalID` input `""` (how the provider clears it) is stored as unset; the `externalId`
  output is then null, not `""`.
- Default space for a new integration: `root` (never `legacy`, even if a `legacy` space is
  added); a space that does not exist is an error `space "X" not found`.
- Names: must be non-blank; unique case-insensitively (uniqueness is only inferred, so
  `Emulator(unique_names=False)` or `emulator.unique_names = False` lifts it: a client must
  cope both ways); `awsIntegrationByName` matches exactly (the first match when not unique).
- `region`: must look like an AWS region (`eu-west-1`); `""` is refused, null clears it.
- `externalIdForStack` nullability is unknown: nullable by default (an error there nulls only
  that field); `emulator.external_id_required = True` makes it non-null, so an error nulls the
  whole mutation result, though the mutation was applied.
- Not-found: queries return null by default (`faults.not_found_style = "error"` switches to
  `... not found` errors); every mutation on a missing ID errors with `... not found`.
- A stack or module deleted in Spacelift (`Emulator.remove_stack`, `remove_module`) takes its
  attachments with it; its integrations stay, and its ID is unknown from then on (attach,
  `stack(id)` and `externalIdForStack` treat it as never having existed).
- Deleting an integration that still has attachments is refused ("still attached ... detach
  it first"), not cascaded.
- Moving an integration (update `space`) where an attached stack could no longer see it is
  refused.
- `externalIdForStack`: whether the stack or module must exist is unknown, so one that does not
  follows the not-found style (null by default, `stack "X" not found` under "error");
  read=write=false is an error; read+write gives `@write`. The statement is the compact JSON
  `{"Effect","Action","Principal":{"AWS":<account id>},"Condition":{"StringEquals":...}}` in
  that key order, never with `sts:TagSession`.
- Attach: the same integration cannot be attached twice to one stack (attach once with
  read+write instead); the role assumption test also runs on attachment updates and when
  `generateCredentialsInWorker` is true. Autoattachment is not emulated
  (`isAutoattached` is always false).
- Tokens: opaque JWT-shaped strings with `aud` = the emulator's base URL; default lifetime
  3600 s; `viewer.id` is the API key ID. `viewer` and the account queries need a token too.
- Requests must be `POST /graphql` with `Content-Type: application/json` and a
  Content-Length; anything else is a plain-text 400 (404 for another path).
- `attachableAwsIntegrationsInSpace` with an unknown space errors `space "X" not found`
  rather than returning an empty list; `stack(id)` is null for a module ID.
- Throttling: 429s carry `Retry-After` by default (`throttle_next(retry_after=None)` omits
  it, for clients that must back off without a hint).
- `includeLegacy` changes nothing: legacy (per-stack) integrations are not served.
- API key roles: a key is admin of every space unless `add_api_key(..., admin_of=[...])` limits
  it; a mutation changing a space the key does not administer (directly or through a parent) is
  answered `unauthorized`, the error the reference gives for under-privileged tokens. Reads are
  not restricted.
- Accounts without AWS integrations (`disable_aws_integrations()`): `awsIntegrationsEnabled`
  answers false; how the other AWS integration fields refuse is not public, so the style is
  an option: an error `AWS integrations are not enabled for this account` (an assumed text) or
  `unauthorized`.
"""

from .emulator import DEFAULT_AWS_ACCOUNT_ID, INTEGRATIONS_DISABLED_ERROR, DisabledStyle, Emulator, trusted
from .faults import CannedResponse, Faults
from .recording import RequestRecord
from .state import (
    READ_WRITE_ERROR,
    TRUST_ERROR,
    Attachment,
    ExternalId,
    Integration,
    IntegrationSettings,
    TrustCheck,
)

__all__ = [
    "DEFAULT_AWS_ACCOUNT_ID",
    "INTEGRATIONS_DISABLED_ERROR",
    "READ_WRITE_ERROR",
    "TRUST_ERROR",
    "Attachment",
    "CannedResponse",
    "DisabledStyle",
    "Emulator",
    "ExternalId",
    "Faults",
    "Integration",
    "IntegrationSettings",
    "RequestRecord",
    "TrustCheck",
    "trusted",
]
